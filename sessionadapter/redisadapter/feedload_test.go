package redisadapter_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// slowScan makes each page of the feed's snapshot read (HSCAN) take step
// on the replica's clock, while on: a load that takes longer than the
// staleness bound, without loading millions. After each page it calls
// during, if set.
type slowScan struct {
	on     atomic.Bool
	clock  *storetest.SyncClock
	step   time.Duration
	during atomic.Pointer[func()]
	done   atomic.Bool // a scan read its last page
}

func (*slowScan) DialHook(next redis.DialHook) redis.DialHook { return next }
func (s *slowScan) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "hscan" || !s.on.Load() {
			return next(ctx, cmd)
		}
		s.clock.Advance(s.step)
		err := next(ctx, cmd)
		if f := s.during.Load(); f != nil {
			(*f)()
		}
		if _, cursor := cmd.(*redis.ScanCmd).Val(); err == nil && cursor == 0 {
			s.done.Store(true)
		}
		return err
	}
}
func (*slowScan) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// fillRevocations writes n sid revocations into the set under prefix,
// as replicas would have recorded them.
func fillRevocations(t *testing.T, c redis.UniversalClient, prefix string, n int) {
	t.Helper()
	v := fmt.Sprint(time.Now().UnixMilli(), ",", time.Now().Add(time.Hour).UnixMilli())
	for i := 0; i < n; i += 10_000 {
		p := c.Pipeline()
		for j := i; j < min(n, i+10_000); j++ {
			p.HSet(t.Context(), prefix+"rev:set", redisadapter.EncodeLogout(sessionadapter.Logout{Issuer: iss, SessionID: fmt.Sprint("filler-", j)}), v)
		}
		if _, err := p.Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// A replica whose first load takes longer than the staleness bound serves
// as soon as Wait returns: the load's data is current as of the read of
// the stream that follows it, not as of when the load began.
func TestFeedSlowLoadFreshAfterWait(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	fillRevocations(t, c, redisadapter.DefaultKeyPrefix, 2500)

	const bound = time.Second
	clock := storetest.NewSyncClock(time.Now())
	slow := &slowScan{clock: clock, step: bound + time.Millisecond} // miniredis scans in one page
	slow.on.Store(true)
	c.AddHook(slow)
	r := newRevocations(t, c, redisadapter.WithClock(clock.Now), redisadapter.WithMaxStaleness(bound))

	b := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "filler-2499", LoginTime: clock.Now().Add(-time.Hour)}
	if got, err := r.Revoked(t.Context(), b); err != nil || !got {
		t.Fatalf("right after Wait, a load that took longer than the bound: Revoked = %v, %v; want true, nil", got, err)
	}
}

// A running replica that reloads after Redis lost its revocations (here a
// restore from a snapshot that holds many) keeps serving while the load
// takes longer than the bound: the loss floor already ends every session
// the revocations it has not read yet could end.
func TestFeedReloadAfterLossKeepsServing(t *testing.T) {
	c := redistest.Client(t) // scans in pages, as miniredis does not
	prefix := uniquePrefix(t, c)
	fillRevocations(t, c, prefix, 5000)

	const bound = time.Second
	clock := storetest.NewSyncClock(time.Now())
	slow := &slowScan{clock: clock, step: bound / 2}
	c.AddHook(slow)
	r := newRevocations(t, c, redisadapter.WithKeyPrefix(prefix), redisadapter.WithClock(clock.Now), redisadapter.WithMaxStaleness(bound))

	before := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s-before", LoginTime: clock.Now().Add(-time.Hour)}
	after := sessionadapter.Binding{Issuer: iss, Subject: "carol", SessionID: "s-after", LoginTime: clock.Now().Add(10 * time.Minute)}
	var pages atomic.Int32
	during := func() {
		pages.Add(1)
		for _, tt := range []struct {
			b    sessionadapter.Binding
			want bool
		}{{before, true}, {after, false}} {
			if got, err := r.Revoked(context.Background(), tt.b); err != nil || got != tt.want {
				t.Errorf("during the reload, page %d, %s: Revoked = %v, %v; want %v, nil", pages.Load(), tt.b.SessionID, got, err, tt.want)
			}
		}
	}
	slow.during.Store(&during)
	slow.on.Store(true)

	// Redis restarts from a snapshot another deployment wrote: the mark
	// is not the one the replica knows.
	if err := c.HSet(t.Context(), prefix+"rev:set", "!mark", "restored,0").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, slow.done.Load)
	if n := pages.Load(); n < 3 {
		t.Fatalf("the reload read %d pages; the test needs a load longer than the bound", n)
	}
	if got, err := r.Revoked(t.Context(), after); err != nil || got {
		t.Errorf("after the reload, a login dated after the loss: Revoked = %v, %v; want false, nil", got, err)
	}
}

// A replica that loads a million revocations from a real Redis serves
// from the moment Wait returns: no Revoked call fails stale after it
// (the guard would answer 503). The load used to count as current from
// when it began, so a load longer than 2.5 s was stale before the feed's
// first blocking read came back.
func TestFeedMillionRevocationsServeAfterWait(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a million revocations")
	}
	c := redistest.Client(t)
	prefix := uniquePrefix(t, c)
	const n = 1_000_000
	fillRevocations(t, c, prefix, n)

	r, err := redisadapter.NewRevocations(c, redisadapter.WithLogger(quiet), redisadapter.WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	// Loading a million takes seconds, many more under the race detector
	// on a loaded machine: Wait is given what it needs; what is checked is
	// that the replica serves once it returns.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("a million revocations never loaded: %v", err)
	}
	b := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "filler-0", LoginTime: time.Now().Add(-time.Hour)}
	// The feed's first blocking read after the load takes up to 500 ms;
	// watch past it.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if got, err := r.Revoked(t.Context(), b); err != nil || !got {
			t.Fatalf("after Wait, with %d revocations: Revoked = %v, %v; want true, nil", n, got, err)
		}
	}
	for i := range n {
		b.SessionID = fmt.Sprint("filler-", i)
		if got, err := r.Revoked(t.Context(), b); err != nil || !got {
			t.Fatalf("revocation %d of %d: Revoked = %v, %v; want true, nil", i, n, got, err)
		}
	}
}
