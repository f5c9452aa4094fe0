package redisadapter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// manySessions is how many app sessions one user binds to one OP session
// (repeated silent SSO logins) in the scale tests.
const manySessions = 40_000

// bindMany binds n sessions of alice under sid, with session data, as
// fast as the client allows.
func bindMany(t testing.TB, c redis.UniversalClient, s sessionadapter.Store, sid string, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				id := fmt.Sprintf("%s-%d", sid, i)
				b := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: sid, LocalID: id, LoginTime: time.Unix(1000, 0)}
				if err := s.Bind(ctx, b); err != nil {
					errc <- err
					return
				}
				if err := c.Set(ctx, redisadapter.SessionKey(s, id), "data", 0).Err(); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// TestEndManySessionsWithoutBusy: one logout that names 40,000 sessions
// ends them all in one script, far under Redis' busy limit, and Redis
// answers other clients meanwhile (no BUSY). A script that built its
// record by string concatenation in a loop was quadratic: 8,000 sessions
// took 5 s, 40,000 over 10 s, and Redis answered BUSY to every other
// client, so every replica's feed went stale.
func TestEndManySessionsWithoutBusy(t *testing.T) {
	c := redistest.Client(t)
	s := newStore(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, c)), redisadapter.WithLogger(quiet))
	bindMany(t, c, s, "sid-small", manySessions/8)
	bindMany(t, c, s, "sid-large", manySessions)

	// Another client pings throughout: a script over Redis' busy limit
	// (5 s) makes it fail with BUSY.
	stop := make(chan struct{})
	pingErr := make(chan error, 1)
	go func() {
		defer close(pingErr)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := c.Ping(context.Background()).Err(); err != nil && strings.HasPrefix(err.Error(), "BUSY") {
				pingErr <- err
				return
			}
		}
	}()
	end := func(sid string, want int) time.Duration {
		start := time.Now()
		n, err := s.EndSessions(context.Background(), sessionadapter.Logout{Issuer: "https://op.example", SessionID: sid, IssuedAt: time.Unix(2000, 0)})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: ended %d sessions, want %d", sid, n, want)
		}
		return took
	}
	small := end("sid-small", manySessions/8)
	large := end("sid-large", manySessions)
	close(stop)
	if err := <-pingErr; err != nil {
		t.Errorf("Redis answered another client %v during the logout", err)
	}
	// How the cost grows (linear: 8 times the sessions, about 8 times the
	// time) is BenchmarkEndManySessions' to read, as a ratio in one run:
	// wall time in a test only measures the machine's load.
	t.Logf("%d sessions: %v; %d sessions: %v", manySessions/8, small, manySessions, large)
	if left, err := c.Exists(context.Background(), redisadapter.SessionKey(s, "sid-large-0"), redisadapter.SessionKey(s, fmt.Sprintf("sid-large-%d", manySessions-1))).Result(); err != nil || left != 0 {
		t.Errorf("session data left: %d, %v", left, err)
	}
}

// TestEndSessionsThroughDroppingProxy: go-redis reaches Redis through a
// relay that drops every connection while the end script of a large
// logout runs, so the script completes in Redis and its reply is lost.
// The logout fails with ErrRedis; once Redis is reachable again the same
// logout (the OP's retry, or rp's) succeeds and everything is ended; no
// session survives and no second run of the script blocks Redis.
func TestEndSessionsThroughDroppingProxy(t *testing.T) {
	direct := redistest.Client(t)
	p := redistest.NewProxy(t, direct.Options().Addr)
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), ContextTimeoutEnabled: true, MaxRetries: 2})
	t.Cleanup(func() { _ = c.Close() })
	s := newStore(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, direct)), redisadapter.WithLogger(quiet))
	bindMany(t, direct, s, "sid-1", manySessions/8)

	l := sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-1", IssuedAt: time.Unix(2000, 0)}
	cut := time.AfterFunc(2*time.Millisecond, p.Cut) // while the script runs
	_, err := s.EndSessions(context.Background(), l)
	cut.Stop()
	p.Cut()
	if err != nil && !errors.Is(err, redisadapter.ErrRedis) {
		t.Fatalf("EndSessions with the reply dropped = %v, want nil or ErrRedis", err)
	}
	p.Restore()
	start := time.Now()
	if _, err := s.EndSessions(context.Background(), l); err != nil {
		t.Fatalf("retried EndSessions = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second { // a second script run would block far longer
		t.Errorf("retry took %v", took)
	}
	var left int64
	for i := range manySessions / 4 {
		n, err := direct.Exists(context.Background(), redisadapter.SessionKey(s, fmt.Sprintf("sid-1-%d", i))).Result()
		if err != nil {
			t.Fatal(err)
		}
		left += n
	}
	if left != 0 {
		t.Errorf("%d sessions survived the retried logout", left)
	}
}

// BenchmarkEndManySessions ends one logout that names n sessions, for n
// and 8n, and reports the ratio of the two times: linear is about 8,
// quadratic 64.
//
//	./scripts/with-redis.sh go test -run '^$' -bench EndManySessions -benchtime 3x ./sessionadapter/redisadapter
func BenchmarkEndManySessions(b *testing.B) {
	c := redistest.Client(b)
	s := newStore(b, c, redisadapter.WithKeyPrefix(uniquePrefix(b, c)), redisadapter.WithLogger(quiet))
	var took [2]time.Duration
	for b.Loop() {
		for i, n := range []int{manySessions / 8, manySessions} {
			sid := fmt.Sprintf("sid-%d", n)
			b.StopTimer()
			bindMany(b, c, s, sid, n)
			b.StartTimer()
			start := time.Now()
			if _, err := s.EndSessions(context.Background(), sessionadapter.Logout{Issuer: "https://op.example", SessionID: sid, IssuedAt: time.Unix(2000, 0)}); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(took[1])/float64(took[0]), "x-for-8x-sessions")
}
