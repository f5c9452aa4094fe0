package redisreplay

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/replay/internal/replaytest"
)

// backend is a Redis the shared suite runs against.
type backend struct {
	client redis.UniversalClient
	// forward moves the server's clock; nil for a real server, whose TTLs
	// the suite checks with PTTL instead of waiting.
	forward func(time.Duration)
}

func miniredisBackend(t *testing.T) backend {
	client, m := redistest.Miniredis(t)
	return backend{client: client, forward: m.FastForward}
}

func singleBackend(t *testing.T) backend { return backend{client: redistest.Client(t)} }

func clusterBackend(t *testing.T) backend { return backend{client: redistest.ClusterClient(t)} }

func newCache(t *testing.T, client redis.UniversalClient, prefix string, opts ...Option) *Cache {
	t.Helper()
	c, err := New(client, append([]Option{WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestMiniredis(t *testing.T) { runSuite(t, miniredisBackend) }
func TestRedis(t *testing.T)     { runSuite(t, singleBackend) }
func TestCluster(t *testing.T)   { runSuite(t, clusterBackend) }

// harness is the replay contract's view of a backend: on miniredis the
// Cache's clock and the server's move together; a real server's clock
// runs on its own, so the Cache reads the wall clock.
func harness(t *testing.T, b backend) replaytest.Harness {
	prefix := redistest.Prefix(t, b.client)
	now := time.Now
	var advance func(time.Duration)
	if b.forward != nil {
		clock := replaytest.NewClock()
		now = clock.Now
		advance = func(d time.Duration) { clock.Advance(d); b.forward(d) }
	}
	c := newCache(t, b.client, prefix, WithClock(now))
	return replaytest.Harness{
		Cache:   c,
		Now:     now,
		Advance: advance,
		Forget: func(t testing.TB, issuer, jti string) {
			if err := b.client.Del(context.Background(), c.key(issuer, jti)).Err(); err != nil {
				t.Fatal(err)
			}
		},
		Replica: newCache(t, b.client, prefix, WithClock(now)),
	}
}

func runSuite(t *testing.T, newBackend func(*testing.T) backend) {
	t.Run("contract", func(t *testing.T) {
		replaytest.Run(t, func(t *testing.T) replaytest.Harness { return harness(t, newBackend(t)) })
	})
	t.Run("expired until leaves no key", func(t *testing.T) { testExpiredUntil(t, newBackend(t)) })
	t.Run("ttls", func(t *testing.T) { testTTLs(t, newBackend(t)) })
}

func testExpiredUntil(t *testing.T, b backend) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	c := newCache(t, b.client, redistest.Prefix(t, b.client), WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for _, until := range []time.Time{now, now.Add(-time.Second)} {
		if _, err := c.Reserve(ctx, "iss", "jti", until); !errors.Is(err, replay.ErrExpired) {
			t.Fatalf("Reserve(until %s): error = %v, want %v", until, err, replay.ErrExpired)
		}
	}
	if n := b.client.Exists(ctx, c.key("iss", "jti")).Val(); n != 0 {
		t.Fatalf("an expired token left a key behind")
	}
}

// testTTLs checks the expiry Redis holds for each state, without waiting:
// a reservation and a commit both last until the until.
func testTTLs(t *testing.T, b backend) {
	c := newCache(t, b.client, redistest.Prefix(t, b.client))
	ctx := context.Background()
	pttl := func(jti string) time.Duration {
		t.Helper()
		d, err := b.client.PTTL(ctx, c.key("iss", jti)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// The test's own delays count against the lower bounds.
	const slack = 5 * time.Second

	far := time.Now().Add(10 * time.Minute)
	r, err := c.Reserve(ctx, "iss", "far", far)
	if err != nil {
		t.Fatal(err)
	}
	if d := pttl("far"); d <= 10*time.Minute-slack || d > 10*time.Minute+time.Millisecond {
		t.Fatalf("reserved PTTL = %s, want about 10m: a reservation lasts until its until", d)
	}
	if err := c.Commit(ctx, r); err != nil {
		t.Fatal(err)
	}
	if d := pttl("far"); d <= 10*time.Minute-slack || d > 10*time.Minute+time.Millisecond {
		t.Fatalf("committed PTTL = %s, want about 10m", d)
	}

	near := time.Now().Add(5 * time.Second)
	r, err = c.Reserve(ctx, "iss", "near", near)
	if err != nil {
		t.Fatal(err)
	}
	if d := pttl("near"); d <= 0 || d > 5*time.Second+time.Millisecond {
		t.Fatalf("reservation PTTL = %s, want it capped by until (5s)", d)
	}

	if err := c.Release(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n := b.client.Exists(ctx, c.key("iss", "near")).Val(); n != 0 {
		t.Fatal("Release left the key behind")
	}
}

func TestScriptsSurviveFlush(t *testing.T) {
	b := miniredisBackend(t)
	c := newCache(t, b.client, redistest.Prefix(t, b.client))
	ctx := context.Background()
	until := time.Now().Add(time.Minute)
	for _, jti := range []string{"a", "b"} {
		if err := b.client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		r, err := c.Reserve(ctx, "iss", jti, until)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Commit(ctx, r); err != nil {
			t.Fatalf("Commit after SCRIPT FLUSH: %v", err)
		}
		if err := b.client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Release(ctx, r); err != nil {
			t.Fatalf("Release after SCRIPT FLUSH: %v", err)
		}
		if _, err := c.Reserve(ctx, "iss", jti, until); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("after commit: error = %v, want %v", err, replay.ErrReplayed)
		}
	}
}

func TestNewOptions(t *testing.T) {
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	clusterNoCtx := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { ok.Close(); noCtx.Close(); clusterNoCtx.Close() })
	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    []Option
		wantErr error
	}{
		{name: "defaults", client: ok},
		{name: "all options", client: ok, opts: []Option{WithPrefix("app:"), WithClock(time.Now)}},
		{name: "nil client", client: nil, wantErr: ErrInvalidOption},
		{name: "client ignores context deadlines", client: noCtx, wantErr: ErrInvalidOption},
		{name: "cluster client ignores context deadlines", client: clusterNoCtx, wantErr: ErrInvalidOption},
		{name: "empty prefix", client: ok, opts: []Option{WithPrefix("")}, wantErr: ErrInvalidOption},
		{name: "nil option", client: ok, opts: []Option{WithPrefix("app:"), nil}, wantErr: ErrInvalidOption},
		{name: "nil clock", client: ok, opts: []Option{WithClock(nil)}, wantErr: ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.client, tt.opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && c == nil {
				t.Fatal("New returned nil without an error")
			}
		})
	}
}

// checkUnavailable runs every operation and wants ErrUnavailable, never a
// verdict on the token.
func checkUnavailable(t *testing.T, ctx context.Context, c *Cache, wantAlso error) {
	t.Helper()
	r := replay.Reservation{Issuer: "iss", JTI: "jti", Until: time.Now().Add(time.Minute)}
	ops := []struct {
		name string
		do   func() error
	}{
		{"reserve", func() error {
			_, err := c.Reserve(ctx, "iss", "jti", time.Now().Add(time.Minute))
			return err
		}},
		{"commit", func() error { return c.Commit(ctx, r) }},
		{"release", func() error { return c.Release(ctx, r) }},
	}
	for _, op := range ops {
		err := op.do()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: error = %v, want %v", op.name, err, ErrUnavailable)
		}
		if errors.Is(err, replay.ErrReplayed) {
			t.Errorf("%s: an outage reported as a replay: %v", op.name, err)
		}
		if wantAlso != nil && !errors.Is(err, wantAlso) {
			t.Errorf("%s: error = %v, want it to wrap %v too", op.name, err, wantAlso)
		}
	}
}

func TestRedisDown(t *testing.T) {
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1,
		// Fail fast: the outage is the point of the test.
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { client.Close() })
	c := newCache(t, client, "down:")
	m.Close()
	checkUnavailable(t, context.Background(), c, nil)
}

func TestClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
		// Fail fast: the outage is the point of the test.
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { client.Close() })
	checkUnavailable(t, context.Background(), newCache(t, client, "closed:"), nil)
}

// TestContextDeadline talks to a server that accepts connections and never
// answers: only the context's deadline can end the calls. The client's own
// timeouts are far longer, so a call that ignored the context would fail
// without context.DeadlineExceeded.
func TestContextDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	conns.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range open {
			conn.Close()
		}
	})
	client := redis.NewClient(&redis.Options{
		Addr: ln.Addr().String(), ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: time.Minute, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
	})
	t.Cleanup(func() { client.Close() })
	c := newCache(t, client, "blocked:")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	checkUnavailable(t, ctx, c, context.DeadlineExceeded)
}

// FuzzKey checks that keys are fixed-size hex after the prefix and that
// different pairs get different keys.
func FuzzKey(f *testing.F) {
	f.Add("ab", "c", "a", "bc")
	f.Add("https://op.example", "jti", "https://op.example", "jti")
	f.Add("", "", "{tag}", "\r\n*1")
	c := &Cache{prefix: DefaultPrefix}
	f.Fuzz(func(t *testing.T, iss1, jti1, iss2, jti2 string) {
		k1, k2 := c.key(iss1, jti1), c.key(iss2, jti2)
		for _, k := range []string{k1, k2} {
			rest, ok := strings.CutPrefix(k, DefaultPrefix)
			if !ok || len(rest) != 64 {
				t.Fatalf("key %q is not the prefix and 64 hex digits", k)
			}
			if _, err := hex.DecodeString(rest); err != nil {
				t.Fatalf("key %q: %v", k, err)
			}
		}
		if same := iss1 == iss2 && jti1 == jti2; same != (k1 == k2) {
			t.Fatalf("pairs (%q,%q) and (%q,%q): same = %v but keys equal = %v", iss1, jti1, iss2, jti2, same, k1 == k2)
		}
	})
}

// lostReplyHook lets Redis apply the first SET NX and loses its reply;
// with failAfter set, every later command fails without reaching Redis,
// as a connection that stays down does.
type lostReplyHook struct {
	failAfter bool
	mu        sync.Mutex
	lost      bool
}

func (*lostReplyHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (*lostReplyHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *lostReplyHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		down := h.lost && h.failAfter
		h.mu.Unlock()
		if down {
			err := &net.OpError{Op: "write", Net: "tcp", Err: errors.New("connection down")}
			cmd.SetErr(err)
			return err
		}
		err := next(ctx, cmd)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err == nil && !h.lost && cmd.Name() == "set" {
			h.lost = true
			err = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("i/o timeout (reply lost)")}
			cmd.SetErr(err)
		}
		return err
	}
}

func (h *lostReplyHook) up() {
	h.mu.Lock()
	h.failAfter = false
	h.mu.Unlock()
}

// TestLostReserveReply: Redis applied Reserve's SET but the reply was
// lost. Reserve reports ErrUnavailable and names the claim it tried to
// make. When Redis still answers, Reserve undoes the claim itself, so the
// OP's retry can reserve the pair; when it does not, the claim stands
// until the caller Releases the named Reservation.
func TestLostReserveReply(t *testing.T) {
	tests := []struct {
		name      string
		failAfter bool
		wantFree  bool // the pair is free right after the failed Reserve
	}{
		{name: "undone by Reserve", wantFree: true},
		{name: "released by the caller", failAfter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, _ := redistest.Miniredis(t)
			hook := &lostReplyHook{failAfter: tt.failAfter}
			client.AddHook(hook)
			t.Cleanup(hook.up) // before redistest's own cleanup
			c := newCache(t, client, redistest.Prefix(t, client))
			ctx := context.Background()
			until := time.Now().Add(time.Minute)
			r, err := c.Reserve(ctx, "iss", "jti", until)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Reserve: error = %v, want %v", err, ErrUnavailable)
			}
			if r.Token == ([16]byte{}) || r.Issuer != "iss" || r.JTI != "jti" || !r.Until.Equal(until) {
				t.Fatalf("the failed Reserve named no claim: %+v", r)
			}
			hook.up()
			if !tt.wantFree {
				if _, err := c.Reserve(ctx, "iss", "jti", until); !errors.Is(err, replay.ErrReplayed) {
					t.Fatalf("before the Release: error = %v, want %v (the claim stands)", err, replay.ErrReplayed)
				}
				if err := c.Release(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Reserve(ctx, "iss", "jti", until); err != nil {
				t.Fatalf("the OP's retry: %v", err)
			}
		})
	}
}
