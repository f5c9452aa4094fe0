package redisadapter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// Revocations expire on the injected clock, in memory and, after the
// sweep, in Redis. (That memory gives the space back
// is internal/mirror's TestSweepForgetsExpired.)
func TestRevocationsExpire(t *testing.T) {
	ctx := context.Background()
	c, m := redistest.Miniredis(t)
	clock := storetest.NewSyncClock(time.Unix(1_700_000_000, 0))
	rev := newRevocations(t, c, redisadapter.WithClock(clock.Now))
	login := clock.Now().Add(-time.Minute)
	for _, l := range []sessionadapter.Logout{{Issuer: iss, Subject: "u", IssuedAt: clock.Now()}, {Issuer: iss, SessionID: "s", IssuedAt: clock.Now()}} {
		if err := rev.Revoke(ctx, l, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	b := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LoginTime: login}
	if got, err := rev.Revoked(ctx, b); err != nil || !got {
		t.Fatalf("Revoked within keepFor = %v, %v, want true", got, err)
	}
	clock.Advance(time.Hour + time.Second)
	eventually(t, func() bool { // the feed must mark itself fresh on the new clock
		got, err := rev.Revoked(ctx, b)
		return err == nil && !got
	})
	rev.SweepNow(ctx)
	for _, k := range m.Keys() {
		if k == redisadapter.DefaultKeyPrefix+"rev:exp" {
			t.Errorf("key %s left in Redis after keepFor and a sweep", k)
		}
	}
	// The set keeps only its loss mark, one field.
	if n, err := c.HLen(ctx, redisadapter.DefaultKeyPrefix+"rev:set").Result(); err != nil || n > 1 {
		t.Errorf("rev:set holds %d fields after keepFor and a sweep, want the loss mark only (%v)", n, err)
	}
}

// TestRevokeBeforeEpochIsInvalid: a logout dated before 1970 is refused
// with ErrInvalid, in Redis and in memory alike, as no OP dates a
// token so. (It used to be recorded in memory, and then revoking it again
// failed with a script error: Redis's scripts cannot parse a negative
// time.)
func TestRevokeBeforeEpochIsInvalid(t *testing.T) {
	c := realClient(t)
	r := newRevocations(t, c)
	l := sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-zero", IssuedAt: time.Time{}.Add(-time.Minute)}
	for i := range 2 {
		if err := r.Revoke(t.Context(), l, time.Hour); !errors.Is(err, sessionadapter.ErrInvalid) {
			t.Fatalf("revoke %d of a logout dated %v: %v, want ErrInvalid", i+1, l.IssuedAt, err)
		}
	}
	mem, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Revoke(t.Context(), l, time.Hour); !errors.Is(err, sessionadapter.ErrInvalid) {
		t.Fatalf("memory revoke: %v, want ErrInvalid", err)
	}
}

// The propagation bound, deterministically: once the replica's clock is
// past the bound after a revocation recorded elsewhere, its answer is
// either the revocation or ErrStale, never "not revoked".
func TestFeedBound(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			c := be.client(t)
			prefix := uniquePrefix(t, c)
			clock := storetest.NewSyncClock(time.Now())
			const bound = time.Second
			a := newRevocations(t, c, redisadapter.WithKeyPrefix(prefix))
			b := newRevocations(t, c, redisadapter.WithKeyPrefix(prefix), redisadapter.WithClock(clock.Now), redisadapter.WithMaxStaleness(bound))
			login := time.Now().Add(-time.Minute)
			for i := range 5 {
				sess := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: string(rune('a' + i)), LoginTime: login}
				if err := a.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: sess.SessionID, IssuedAt: time.Now()}, time.Hour); err != nil {
					t.Fatal(err)
				}
				clock.Advance(bound + time.Millisecond)
				for {
					got, err := b.Revoked(ctx, sess)
					if err == nil && !got {
						t.Fatalf("revocation %d: replica b says not revoked after the bound", i)
					}
					if err != nil && !errors.Is(err, sessionadapter.ErrStale) {
						t.Fatal(err)
					}
					if got {
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
}

// proxy forwards TCP connections to a Redis until cut: then it drops
// every connection and refuses new ones, until restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.setCut(true); p.wg.Wait() })
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
	}
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// With the feed cut the replica fails closed after the bound; when Redis
// is back it recovers with the revocations recorded meanwhile.
func TestFeedCut(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	direct := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { direct.Close() })
	px := newProxy(t, m.Addr())
	viaProxy := redis.NewClient(&redis.Options{Addr: px.ln.Addr().String(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { viaProxy.Close() })

	clock := storetest.NewSyncClock(time.Now())
	const bound = time.Second
	a := newRevocations(t, direct)
	b := newRevocations(t, viaProxy, redisadapter.WithClock(clock.Now), redisadapter.WithMaxStaleness(bound))
	login := time.Now().Add(-time.Minute)
	before := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "before", LoginTime: login}
	during := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "during", LoginTime: login}
	if err := a.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "before"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { got, err := b.Revoked(ctx, before); return err == nil && got })

	px.setCut(true)
	clock.Advance(bound + time.Millisecond)
	if _, err := b.Revoked(ctx, before); !errors.Is(err, sessionadapter.ErrStale) {
		t.Fatalf("feed cut past the bound: Revoked err = %v, want ErrStale (fail closed)", err)
	}
	// More revocations than one read of the stream takes: the replica
	// must not call itself fresh before it has read the last of them.
	for i := range 2500 {
		if err := a.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: fmt.Sprint("filler-", i)}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "during"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	px.setCut(false)
	// The first answer after recovery already knows the revocation
	// recorded while the feed was cut.
	for {
		got, err := b.Revoked(ctx, during)
		if err == nil {
			if !got {
				t.Fatal("recovered without the revocation recorded during the cut")
			}
			break
		}
		if !errors.Is(err, sessionadapter.ErrStale) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

// Close stops every background goroutine of Revocations; a Store runs
// none.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	_, m := redistest.Miniredis(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	before := runtime.NumGoroutine()
	var closers []io.Closer
	for range 5 {
		r, err := redisadapter.NewRevocations(c, redisadapter.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := redisadapter.New(c, redisadapter.WithLogger(quiet)); err != nil {
			t.Fatal(err)
		}
		closers = append(closers, r)
	}
	for _, cl := range closers {
		_ = cl.Close()
	}
	_ = c.Close()
	eventually(t, func() bool { return runtime.NumGoroutine() <= before })
}

// The guard's check allocates nothing.
func TestRevokedAllocs(t *testing.T) {
	c, _ := redistest.Miniredis(t)
	rev := newRevocations(t, c, redisadapter.WithMaxStaleness(time.Hour))
	ctx := context.Background()
	b := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LocalID: "l", LoginTime: time.Now()}
	if n := testing.AllocsPerRun(100, func() { _, _ = rev.Revoked(ctx, b) }); n != 0 {
		t.Fatalf("Revoked allocates %v times per call, want 0", n)
	}
}

func FuzzLogoutCodec(f *testing.F) {
	f.Add("https://op.example", "alice", "sid-1")
	f.Add("i", "", "s")
	f.Add("i:5:x", "3:abc", "")
	f.Fuzz(func(t *testing.T, iss, sub, sid string) {
		l := sessionadapter.Logout{Issuer: iss, Subject: sub, SessionID: sid}
		got, err := redisadapter.DecodeLogout(redisadapter.EncodeLogout(l))
		if err != nil || got != l {
			t.Fatalf("round trip of %+v = %+v, %v", l, got, err)
		}
		_, _ = redisadapter.DecodeLogout(iss + sub + sid) // never panics
	})
}

// Changed fires on every replica for a revocation any of them records, as
// its feed learns it, and when Redis lost the revocations (the loss ends
// sessions no revocation did); a retried logout wakes no page.
func TestChangedFiresForRevocationsAndLoss(t *testing.T) {
	m := miniredis.RunT(t)
	client := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	writer := newRevocations(t, client())
	reader := newRevocations(t, client())
	storetest.RunChanged(t, writer, reader, m.FlushAll)
}
