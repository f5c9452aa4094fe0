package redisadapter_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// benchClient is the real Redis of BCLOGOUT_REDIS_URL when set, else
// miniredis.
func benchClient(b *testing.B) (redis.UniversalClient, string) {
	if os.Getenv(redistest.URLEnv) != "" {
		return realClient(b), "redis"
	}
	return miniClient(b), "miniredis"
}

// benchBind loads unrelated sessions (three per user) with concurrent
// Binds, so that a million load in seconds rather than minutes.
func benchBind(b *testing.B, s *redisadapter.Store, unrelated int) {
	ctx := context.Background()
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < unrelated; i += workers {
				err := s.Bind(ctx, sessionadapter.Binding{Issuer: "https://op", Subject: fmt.Sprint("other-", i/3), SessionID: fmt.Sprint("osid-", i), LocalID: fmt.Sprint("o", i)})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

func redisEndBySub(b *testing.B, s *redisadapter.Store, n int) {
	ctx := context.Background()
	l := sessionadapter.Logout{Issuer: "https://op", Subject: "target"}
	for b.Loop() {
		b.StopTimer()
		for i := range n {
			_ = s.Bind(ctx, sessionadapter.Binding{Issuer: l.Issuer, Subject: l.Subject, SessionID: fmt.Sprint("t", i%3), LocalID: fmt.Sprint("t", i)})
		}
		b.StartTimer()
		if got, err := s.EndSessions(ctx, l); err != nil || got != n {
			b.Fatalf("ended %d, %v, want %d", got, err, n)
		}
	}
}

func BenchmarkEndBySub(b *testing.B) {
	c, name := benchClient(b)
	s, err := redisadapter.New(c, redisadapter.WithKeyPrefix(uniquePrefix(b, c)))
	if err != nil {
		b.Fatal(err)
	}
	benchBind(b, s, 1000)
	for _, n := range []int{1, 10, 1000} {
		b.Run(fmt.Sprintf("%s/sessions=%d", name, n), func(b *testing.B) { redisEndBySub(b, s, n) })
	}
}

// BenchmarkEndBySubUnrelated compares ending 10 sessions with 1,000 and
// 1,000,000 other sessions in Redis (100,000 on miniredis, which is slow to
// load and in process): the ns/op must be about equal.
func BenchmarkEndBySubUnrelated(b *testing.B) {
	c, name := benchClient(b)
	many := 1_000_000
	if name == "miniredis" {
		many = 100_000
	}
	for _, unrelated := range []int{1000, many} {
		s, err := redisadapter.New(c, redisadapter.WithKeyPrefix(uniquePrefix(b, c)))
		if err != nil {
			b.Fatal(err)
		}
		benchBind(b, s, unrelated)
		b.Run(fmt.Sprintf("%s/unrelated=%d/sessions=10", name, unrelated), func(b *testing.B) { redisEndBySub(b, s, 10) })
	}
}

// BenchmarkPing is the floor: one round trip to the same server.
func BenchmarkPing(b *testing.B) {
	c, _ := benchClient(b)
	for b.Loop() {
		if err := c.Ping(context.Background()).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
