package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// The variables scripts/with-redis.sh exports.
const (
	// URLEnv holds a redis:// URL of a single server.
	URLEnv = "BCLOGOUT_REDIS_URL"
	// ClusterEnv holds the comma-separated host:port of cluster nodes.
	ClusterEnv = "BCLOGOUT_REDIS_CLUSTER"
)

// need returns the variable name; without it the test skips, or fails
// under CI, where a missing Redis means a broken setup.
func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set under CI: run the tests through scripts/with-redis.sh", name)
		}
		t.Skipf("%s is not set: run the tests through scripts/with-redis.sh to use a real Redis", name)
	}
	return v
}

// Every client sets ContextTimeoutEnabled: redisreplay refuses a client
// without it, and it is how production callers bound Redis calls by their
// request's deadline.

// Miniredis starts a miniredis for t and returns a client of it, and the
// server, whose FastForward moves its clock. Both stop when t ends.
func Miniredis(t testing.TB) (*redis.Client, *miniredis.Miniredis) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c, m
}

// Client returns a client of the server at BCLOGOUT_REDIS_URL, closed when
// t ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(need(t, URLEnv))
	if err != nil {
		t.Fatalf("%s: %v", URLEnv, err)
	}
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ClusterClient returns a client of the cluster at BCLOGOUT_REDIS_CLUSTER,
// closed when t ends.
func ClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addrs := strings.Split(need(t, ClusterEnv), ",")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix returns a fresh key prefix without a hash tag, so a cluster
// spreads the test's keys over its nodes. The keys under it are deleted
// when t ends, since a real Redis is shared with other tests.
func Prefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	p := "bclogout-test:" + randomHex() + ":"
	t.Cleanup(func() { deleteKeys(t, c, p+"*") })
	return p
}

// TaggedPrefix returns a fresh key prefix that is a hash tag,
// "{bclogout-test-…}:", for stores that keep all their keys in one
// cluster slot. Every key holding the tag, wherever it stands in the key,
// is deleted when t ends.
func TaggedPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	tag := "{bclogout-test-" + randomHex() + "}"
	t.Cleanup(func() { deleteKeys(t, c, "*"+tag+"*") })
	return tag + ":"
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// deleteKeys removes the keys matching pattern from every node: SCAN on
// a cluster client reaches only one.
func deleteKeys(t testing.TB, c redis.UniversalClient, pattern string) {
	ctx := context.Background()
	del := func(ctx context.Context, n *redis.Client) error {
		iter := n.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			if err := n.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *redis.Client:
		err = del(ctx, c)
	}
	// A test that closed its client before its cleanups ran (defer Close)
	// left nothing this cleanup can reach; other failures leave keys
	// behind on a shared server, which is worth a failure.
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		t.Errorf("redistest: deleting %s: %v", pattern, err)
	}
}
