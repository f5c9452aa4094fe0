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

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/internal/replaytest"
	"github.com/bclogout/bclogout/internal/testclock"
)

// backend is a Redis the shared suite runs against.
type backend struct {
	client redis.UniversalClient
	// forward moves the server's clock; nil for a real server.
	forward func(time.Duration)
}

func miniredisBackend(t *testing.T) backend {
	client, m := redistest.Miniredis(t)
	return backend{client: client, forward: m.FastForward}
}

func singleBackend(t *testing.T) backend { return backend{client: redistest.Client(t)} }

func clusterBackend(t *testing.T) backend { return backend{client: redistest.ClusterClient(t)} }

func newCache(t *testing.T, client redis.UniversalClient, prefix string, now func() time.Time) *cache {
	t.Helper()
	rc, err := New(client, prefix)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := rc.(*cache)
	if now != nil {
		c.now = now
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
		clock := testclock.New(time.Now())
		now = clock.Now
		advance = func(d time.Duration) { clock.Advance(d); b.forward(d) }
	}
	return replaytest.Harness{
		Cache:   newCache(t, b.client, prefix, now),
		Now:     now,
		Advance: advance,
		Replica: newCache(t, b.client, prefix, now),
	}
}

func runSuite(t *testing.T, newBackend func(*testing.T) backend) {
	t.Run("contract", func(t *testing.T) {
		replaytest.Run(t, func(t *testing.T) replaytest.Harness { return harness(t, newBackend(t)) })
	})
	t.Run("ttl", func(t *testing.T) { testTTL(t, newBackend(t)) })
}

// testTTL checks the expiry Redis holds, without waiting: until, rounded
// up to the millisecond, and no key for an until that passed.
func testTTL(t *testing.T, b backend) {
	c := newCache(t, b.client, redistest.Prefix(t, b.client), nil)
	ctx := context.Background()
	if err := c.Record(ctx, "iss", "far", time.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	d, err := b.client.PTTL(ctx, c.key("iss", "far")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if d <= 10*time.Minute-5*time.Second || d > 10*time.Minute+time.Millisecond {
		t.Fatalf("PTTL = %s, want about 10m", d)
	}
	if err := c.Record(ctx, "iss", "past", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := b.client.Exists(ctx, c.key("iss", "past")).Val(); n != 0 {
		t.Fatal("a passed until left a key behind")
	}
}

func TestNew(t *testing.T) {
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	clusterNoCtx := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { ok.Close(); noCtx.Close(); clusterNoCtx.Close() })
	tests := []struct {
		name       string
		client     redis.UniversalClient
		prefix     string
		wantPrefix string
		wantErr    error
	}{
		{name: "default prefix", client: ok, wantPrefix: defaultPrefix},
		{name: "prefix", client: ok, prefix: "app:", wantPrefix: "app:"},
		{name: "nil client", client: nil, wantErr: errs.ErrInvalidConfig},
		{name: "client ignores context deadlines", client: noCtx, wantErr: errs.ErrInvalidConfig},
		{name: "cluster client ignores context deadlines", client: clusterNoCtx, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.client, tt.prefix)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && c.(*cache).prefix != tt.wantPrefix {
				t.Fatalf("prefix %q, want %q", c.(*cache).prefix, tt.wantPrefix)
			}
		})
	}
}

// checkFails runs both operations against a Redis that cannot answer:
// each returns an error (wrapping wantAlso, when set), never a verdict.
func checkFails(t *testing.T, ctx context.Context, c *cache, wantAlso error) {
	t.Helper()
	if seen, err := c.Seen(ctx, "iss", "jti"); err == nil || seen {
		t.Errorf("Seen = %v, %v; want an error", seen, err)
	} else if wantAlso != nil && !errors.Is(err, wantAlso) {
		t.Errorf("Seen error = %v, want it to wrap %v", err, wantAlso)
	}
	if err := c.Record(ctx, "iss", "jti", time.Now().Add(time.Minute)); err == nil {
		t.Error("Record: no error")
	} else if wantAlso != nil && !errors.Is(err, wantAlso) {
		t.Errorf("Record error = %v, want it to wrap %v", err, wantAlso)
	}
}

func TestRedisDown(t *testing.T) {
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1,
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { client.Close() })
	c := newCache(t, client, "down:", nil)
	m.Close()
	checkFails(t, context.Background(), c, nil)
}

// TestContextDeadline talks to a server that accepts connections and never
// answers: only the context's deadline can end the calls.
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
	c := newCache(t, client, "blocked:", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	checkFails(t, ctx, c, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the calls took %v: the context's deadline did not bound them", d)
	}
}

// FuzzKey checks that keys are fixed-size hex after the prefix and that
// different pairs get different keys.
func FuzzKey(f *testing.F) {
	f.Add("ab", "c", "a", "bc")
	f.Add("https://op.example", "jti", "https://op.example", "jti")
	f.Add("", "", "{tag}", "\r\n*1")
	c := &cache{prefix: defaultPrefix}
	f.Fuzz(func(t *testing.T, iss1, jti1, iss2, jti2 string) {
		k1, k2 := c.key(iss1, jti1), c.key(iss2, jti2)
		for _, k := range []string{k1, k2} {
			rest, ok := strings.CutPrefix(k, defaultPrefix)
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
