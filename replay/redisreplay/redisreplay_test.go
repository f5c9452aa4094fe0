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

func runSuite(t *testing.T, newBackend func(*testing.T) backend) {
	t.Run("lifecycle", func(t *testing.T) { testLifecycle(t, newBackend(t)) })
	t.Run("expired until", func(t *testing.T) { testExpiredUntil(t, newBackend(t)) })
	t.Run("pairs are distinct", func(t *testing.T) { testPairsAreDistinct(t, newBackend(t)) })
	t.Run("ttls", func(t *testing.T) { testTTLs(t, newBackend(t)) })
	t.Run("two replicas", func(t *testing.T) { testTwoReplicas(t, newBackend(t)) })
	t.Run("expiry", func(t *testing.T) { testExpiry(t, newBackend(t)) })
}

func testLifecycle(t *testing.T, b backend) {
	const iss, jti = "https://op.example", "jti-1"
	type step struct {
		op      string // reserve, commit, release
		wantErr error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "reserve twice is a replay", steps: []step{
			{op: "reserve"}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "committed is a replay", steps: []step{
			{op: "reserve"}, {op: "commit"}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "release lets the retry through", steps: []step{
			{op: "reserve"}, {op: "release"}, {op: "reserve"}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "release after commit is a no-op", steps: []step{
			{op: "reserve"}, {op: "commit"}, {op: "release"}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "commit twice keeps it committed", steps: []step{
			{op: "reserve"}, {op: "commit"}, {op: "commit"}, {op: "release"}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "commit and release of unknown pairs are no-ops", steps: []step{
			{op: "commit"}, {op: "release"}, {op: "reserve"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, b.client, redistest.Prefix(t, b.client))
			ctx := context.Background()
			until := time.Now().Add(5 * time.Minute)
			for i, s := range tt.steps {
				var err error
				switch s.op {
				case "reserve":
					err = c.Reserve(ctx, iss, jti, until)
				case "commit":
					err = c.Commit(ctx, iss, jti)
				case "release":
					err = c.Release(ctx, iss, jti)
				}
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d (%s): error = %v, want %v", i, s.op, err, s.wantErr)
				}
			}
		})
	}
}

func testExpiredUntil(t *testing.T, b backend) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	c := newCache(t, b.client, redistest.Prefix(t, b.client), WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for _, until := range []time.Time{now, now.Add(-time.Second)} {
		if err := c.Reserve(ctx, "iss", "jti", until); !errors.Is(err, replay.ErrExpired) {
			t.Fatalf("Reserve(until %s): error = %v, want %v", until, err, replay.ErrExpired)
		}
	}
	if n := b.client.Exists(ctx, c.key("iss", "jti")).Val(); n != 0 {
		t.Fatalf("an expired token left a key behind")
	}
}

func testPairsAreDistinct(t *testing.T, b backend) {
	tests := []struct {
		name       string
		iss1, jti1 string
		iss2, jti2 string
		wantErr    error
	}{
		{name: "same pair", iss1: "a", jti1: "b", iss2: "a", jti2: "b", wantErr: replay.ErrReplayed},
		{name: "same jti, other issuer", iss1: "https://op1", jti1: "x", iss2: "https://op2", jti2: "x"},
		{name: "boundary moved", iss1: "ab", jti1: "c", iss2: "a", jti2: "bc"},
		{name: "empty jti", iss1: "ab", jti1: "", iss2: "a", jti2: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, b.client, redistest.Prefix(t, b.client))
			ctx := context.Background()
			until := time.Now().Add(time.Minute)
			if err := c.Reserve(ctx, tt.iss1, tt.jti1, until); err != nil {
				t.Fatal(err)
			}
			if err := c.Reserve(ctx, tt.iss2, tt.jti2, until); !errors.Is(err, tt.wantErr) {
				t.Fatalf("second Reserve: error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// testTTLs checks the expiry Redis holds for each state, without waiting.
func testTTLs(t *testing.T, b backend) {
	const resTTL = 30 * time.Second
	c := newCache(t, b.client, redistest.Prefix(t, b.client), WithReservationTTL(resTTL))
	ctx := context.Background()
	pttl := func(jti string) time.Duration {
		t.Helper()
		d, err := b.client.PTTL(ctx, c.key("iss", jti)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	far := time.Now().Add(10 * time.Minute)
	if err := c.Reserve(ctx, "iss", "far", far); err != nil {
		t.Fatal(err)
	}
	if d := pttl("far"); d <= 0 || d > resTTL {
		t.Fatalf("reserved PTTL = %s, want within (0, %s]", d, resTTL)
	}
	if err := c.Commit(ctx, "iss", "far"); err != nil {
		t.Fatal(err)
	}
	if d := pttl("far"); d <= resTTL || d > 10*time.Minute+time.Millisecond {
		t.Fatalf("committed PTTL = %s, want within (%s, 10m]", d, resTTL)
	}

	near := time.Now().Add(5 * time.Second)
	if err := c.Reserve(ctx, "iss", "near", near); err != nil {
		t.Fatal(err)
	}
	if d := pttl("near"); d <= 0 || d > 5*time.Second+time.Millisecond {
		t.Fatalf("reservation PTTL = %s, want it capped by until (5s)", d)
	}

	if err := c.Release(ctx, "iss", "near"); err != nil {
		t.Fatal(err)
	}
	if n := b.client.Exists(ctx, c.key("iss", "near")).Val(); n != 0 {
		t.Fatal("Release left the key behind")
	}
}

// testTwoReplicas runs two Caches on one Redis, as two RP replicas would.
func testTwoReplicas(t *testing.T, b backend) {
	prefix := redistest.Prefix(t, b.client)
	replicas := []*Cache{newCache(t, b.client, prefix), newCache(t, b.client, prefix)}
	ctx := context.Background()
	until := time.Now().Add(time.Minute)

	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = replicas[i%2].Reserve(ctx, "iss", "shared", until) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("calls %d and %d both won the reservation", winner, i)
			}
			winner = i
		case !errors.Is(err, replay.ErrReplayed):
			t.Fatalf("Reserve %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no call won the reservation")
	}
	owner, other := replicas[winner%2], replicas[1-winner%2]

	// The other replica can neither free nor commit the owner's claim.
	if err := other.Release(ctx, "iss", "shared"); err != nil {
		t.Fatal(err)
	}
	if err := other.Commit(ctx, "iss", "shared"); err != nil {
		t.Fatal(err)
	}
	if err := other.Reserve(ctx, "iss", "shared", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("after the other replica's Release: error = %v, want %v", err, replay.ErrReplayed)
	}
	// The owner's Release works, and the OP's retry can land on either.
	if err := owner.Release(ctx, "iss", "shared"); err != nil {
		t.Fatal(err)
	}
	if err := other.Reserve(ctx, "iss", "shared", until); err != nil {
		t.Fatalf("retry on the other replica: %v", err)
	}
	if err := other.Commit(ctx, "iss", "shared"); err != nil {
		t.Fatal(err)
	}
	if err := owner.Reserve(ctx, "iss", "shared", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("replay on the first replica: error = %v, want %v", err, replay.ErrReplayed)
	}
}

// testExpiry moves the server's clock, so it needs miniredis.
func testExpiry(t *testing.T, b backend) {
	if b.forward == nil {
		t.Skip("a real server's clock cannot be moved; testTTLs checks its expiries")
	}
	const resTTL = 30 * time.Second
	// The Cache's clock is frozen while the server's moves: Commit computes
	// the time left from the Cache's clock, like Reserve.
	now := time.Now()
	c := newCache(t, b.client, redistest.Prefix(t, b.client), WithReservationTTL(resTTL),
		WithClock(func() time.Time { return now }))
	ctx := context.Background()
	until := now.Add(10 * time.Minute)

	// A reservation never committed nor released (the process died)
	// expires after the reservation TTL.
	if err := c.Reserve(ctx, "iss", "abandoned", until); err != nil {
		t.Fatal(err)
	}
	b.forward(resTTL - time.Millisecond)
	if err := c.Reserve(ctx, "iss", "abandoned", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("before the reservation TTL: error = %v, want %v", err, replay.ErrReplayed)
	}
	b.forward(time.Millisecond)
	if err := c.Reserve(ctx, "iss", "abandoned", until); err != nil {
		t.Fatalf("after the reservation TTL: %v", err)
	}

	// A committed pair lives until its until, well past the reservation TTL.
	if err := c.Reserve(ctx, "iss", "done", until); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(ctx, "iss", "done"); err != nil {
		t.Fatal(err)
	}
	b.forward(10*time.Minute - time.Millisecond)
	if err := c.Reserve(ctx, "iss", "done", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("before until: error = %v, want %v", err, replay.ErrReplayed)
	}
	b.forward(2 * time.Millisecond)
	if err := c.Reserve(ctx, "iss", "done", now.Add(20*time.Minute)); err != nil {
		t.Fatalf("after until: %v", err)
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
		if err := c.Reserve(ctx, "iss", jti, until); err != nil {
			t.Fatal(err)
		}
		if err := c.Commit(ctx, "iss", jti); err != nil {
			t.Fatalf("Commit after SCRIPT FLUSH: %v", err)
		}
		if err := c.Release(ctx, "iss", jti); err != nil {
			t.Fatalf("Release after SCRIPT FLUSH: %v", err)
		}
		if err := c.Reserve(ctx, "iss", jti, until); !errors.Is(err, replay.ErrReplayed) {
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
		{name: "all options", client: ok, opts: []Option{WithPrefix("app:"), WithReservationTTL(time.Minute), WithClock(time.Now)}},
		{name: "nil client", client: nil, wantErr: ErrInvalidOption},
		{name: "client ignores context deadlines", client: noCtx, wantErr: ErrInvalidOption},
		{name: "cluster client ignores context deadlines", client: clusterNoCtx, wantErr: ErrInvalidOption},
		{name: "empty prefix", client: ok, opts: []Option{WithPrefix("")}, wantErr: ErrInvalidOption},
		{name: "zero reservation TTL", client: ok, opts: []Option{WithReservationTTL(0)}, wantErr: ErrInvalidOption},
		{name: "sub-millisecond reservation TTL", client: ok, opts: []Option{WithReservationTTL(time.Microsecond)}, wantErr: ErrInvalidOption},
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
	ops := []struct {
		name string
		do   func() error
	}{
		{"reserve", func() error { return c.Reserve(ctx, "iss", "jti", time.Now().Add(time.Minute)) }},
		{"commit", func() error { return c.Commit(ctx, "iss", "jti") }},
		{"release", func() error { return c.Release(ctx, "iss", "jti") }},
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
