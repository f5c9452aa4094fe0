package redistest

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/redis/go-redis/v9"
)

// recorder stands in for a test, recording how it stopped.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }

func TestNeed(t *testing.T) {
	tests := []struct {
		name, value, ci string
		want            string // "value", "skip" or "fail"
	}{
		{name: "set", value: "redis://127.0.0.1:1/0", want: "value"},
		{name: "set under CI", value: "redis://127.0.0.1:1/0", ci: "1", want: "value"},
		{name: "unset", want: "skip"},
		{name: "unset under CI", ci: "1", want: "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(URLEnv, tt.value)
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			var got string
			done := make(chan struct{})
			go func() {
				defer close(done)
				got = need(r, URLEnv)
			}()
			<-done
			switch {
			case r.skipped:
				got = "skip"
			case r.failed:
				got = "fail"
			case got == tt.value:
				got = "value"
			}
			if got != tt.want {
				t.Errorf("need = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrefixesCleanUp(t *testing.T) {
	ctx := context.Background()
	c, _ := Miniredis(t)
	if err := c.Set(ctx, "other", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var plain, tagged string
	t.Run("use", func(t *testing.T) {
		plain, tagged = Prefix(t, c), TaggedPrefix(t, c)
		for _, k := range []string{plain + "a", plain + "b", tagged + "a", "session_" + tagged[:len(tagged)-1] + "x"} {
			if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if plain == tagged || plain == "" || tagged[0] != '{' {
		t.Fatalf("prefixes %q, %q: want distinct, the second a hash tag", plain, tagged)
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "other" {
		t.Errorf("keys after the test = %v, want [other]", keys)
	}
}

// TestRealCleanUp checks that cleanup reaches every node of a cluster,
// where keys without a hash tag land on different nodes.
func TestRealCleanUp(t *testing.T) {
	tests := []struct {
		name   string
		client func(testing.TB) redis.UniversalClient
	}{
		{"redis", func(t testing.TB) redis.UniversalClient { return Client(t) }},
		{"cluster", func(t testing.TB) redis.UniversalClient { return ClusterClient(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := tt.client(t)
			var plain string
			t.Run("use", func(t *testing.T) {
				plain = Prefix(t, c)
				for i := range 20 {
					if err := c.Set(ctx, fmt.Sprint(plain, i), "v", 0).Err(); err != nil {
						t.Fatal(err)
					}
				}
			})
			for i := range 20 {
				n, err := c.Exists(ctx, fmt.Sprint(plain, i)).Result()
				if err != nil || n != 0 {
					t.Fatalf("key %d after the test: exists %d, %v; want 0, nil", i, n, err)
				}
			}
		})
	}
}

// The proxy relays to a server, refuses clients while cut, and relays
// again once restored, on the same address.
func TestProxyCutAndRestore(t *testing.T) {
	_, mr := Miniredis(t)
	p := NewProxy(t, mr.Addr())
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("a cut proxy relayed a command")
	}
	p.Restore()
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		// A pooled connection from before the cut may fail once.
		if got, err = c.Get(ctx, "k").Result(); err != nil || got != "v" {
			t.Fatalf("after Restore: %q, %v", got, err)
		}
	}
}
