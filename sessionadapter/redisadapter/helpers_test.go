package redisadapter_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/redistest"
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
	c, _ := redistest.Miniredis(t)
	return c
}

func realClient(t testing.TB) redis.UniversalClient { return redistest.Client(t) }

func clusterClient(t testing.TB) redis.UniversalClient { return redistest.ClusterClient(t) }

// uniquePrefix is a fresh hash-tag key prefix, as a cluster needs, whose
// keys are deleted when the test ends.
func uniquePrefix(t testing.TB, c redis.UniversalClient) string { return redistest.TaggedPrefix(t, c) }

// harness builds a Store with its data keys under the same tag.
func harness(t *testing.T, c redis.UniversalClient, opts ...redisadapter.Option) storetest.Harness {
	t.Helper()
	prefix := uniquePrefix(t, c)
	opts = append([]redisadapter.Option{redisadapter.WithKeyPrefix(prefix), redisadapter.WithLogger(quiet)}, opts...)
	return dataHarness(newStore(t, c, opts...), c)
}

// newStore returns a Store closed when t ends.
func newStore(t testing.TB, c redis.UniversalClient, opts ...redisadapter.Option) sessionadapter.Store {
	t.Helper()
	s, err := redisadapter.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}

	return s
}

// newRevocations returns Revocations that have loaded once, closed when t
// ends.
func newRevocations(t testing.TB, c redis.UniversalClient, opts ...redisadapter.Option) *redisadapter.Revocations {
	t.Helper()
	opts = append([]redisadapter.Option{redisadapter.WithLogger(quiet)}, opts...)
	r, err := redisadapter.NewRevocations(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("revocations never loaded: %v", err)
	}
	return r
}

func dataHarness(s sessionadapter.Store, c redis.UniversalClient) storetest.Harness {
	return storetest.Harness{
		Store: s,
		Create: func(t testing.TB, id string) {
			if err := c.Set(context.Background(), redisadapter.SessionKey(s, id), "data", 0).Err(); err != nil {
				t.Fatal(err)
			}
		},
		Alive: func(t testing.TB, id string) bool {
			n, err := c.Exists(context.Background(), redisadapter.SessionKey(s, id)).Result()
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		},
	}
}

var quiet = slog.New(slog.DiscardHandler)
