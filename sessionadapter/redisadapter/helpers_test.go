package redisadapter_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// backend is one Redis deployment the tests run against.
type backend struct {
	name   string
	client func(t testing.TB) redis.UniversalClient
}

func backends() []backend {
	return []backend{
		{name: "miniredis", client: miniClient},
		{name: "redis", client: realClient},
		{name: "cluster", client: clusterClient},
	}
}

func miniClient(t testing.TB) redis.UniversalClient {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// needEnv returns the variable, skipping the test without it, except in
// CI, where a missing Redis is a failure.
func needEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; run the tests through scripts/with-redis.sh", name)
		}
		t.Skipf("%s is not set; run through scripts/with-redis.sh to test against real Redis", name)
	}
	return v
}

func realClient(t testing.TB) redis.UniversalClient {
	opt, err := redis.ParseURL(needEnv(t, "BCLOGOUT_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func clusterClient(t testing.TB) redis.UniversalClient {
	addrs := strings.Split(needEnv(t, "BCLOGOUT_REDIS_CLUSTER"), ",")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Close() })
	return c
}

// uniquePrefix is a fresh key prefix (with its own hash tag) whose keys
// are deleted when the test ends, since a real Redis is shared.
func uniquePrefix(t testing.TB, c redis.UniversalClient) string {
	tag := fmt.Sprintf("bct-%x", rand.Uint64())
	t.Cleanup(func() { deleteTag(c, tag) })
	return "{" + tag + "}:"
}

func deleteTag(c redis.UniversalClient, tag string) {
	ctx := context.Background()
	del := func(ctx context.Context, n *redis.Client) error {
		iter := n.Scan(ctx, 0, "*{"+tag+"}*", 1000).Iterator()
		for iter.Next(ctx) {
			n.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		_ = c.ForEachMaster(ctx, del)
	case *redis.Client:
		_ = del(ctx, c)
	}
}

// harness builds a Store with its data keys under the same tag.
func harness(t *testing.T, c redis.UniversalClient, endAll bool, opts ...redisadapter.Option) storetest.Harness {
	t.Helper()
	prefix := uniquePrefix(t, c)
	opts = append([]redisadapter.Option{redisadapter.WithKeyPrefix(prefix), redisadapter.WithLogger(quiet)}, opts...)
	if endAll {
		opts = append(opts, redisadapter.WithEndAllUserSessions())
	}
	s, err := redisadapter.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return dataHarness(s, c)
}

func dataHarness(s *redisadapter.Store, c redis.UniversalClient) storetest.Harness {
	return storetest.Harness{
		Store: s,
		Create: func(t testing.TB, id string) {
			if err := c.Set(context.Background(), s.SessionKey(id), "data", 0).Err(); err != nil {
				t.Fatal(err)
			}
		},
		Alive: func(t testing.TB, id string) bool {
			n, err := c.Exists(context.Background(), s.SessionKey(id)).Result()
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		},
	}
}

var quiet = slog.New(slog.DiscardHandler)

var _ sessionadapter.Store = (*redisadapter.Store)(nil)
