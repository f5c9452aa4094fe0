package rp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/rp"
)

// hangingRecordCache answers Seen at once and makes Record wait for its
// context, as a replay cache over a store that stopped answering does
// (a go-redis client honours the context).
type hangingRecordCache struct {
	replay.Cache
	entered chan struct{}
	release chan struct{}
}

func (c *hangingRecordCache) Record(ctx context.Context, issuer, jti string, until time.Time) error {
	c.entered <- struct{}{}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.release:
		return context.Canceled
	}
}

// TestReviewRetryCloseBoundedWhenRecordHangs: Close(ctx) documents that
// pending logouts are retried "until ctx is done", then abandoned, and
// that the retry is "under one deadline (WithLogoutTimeout, else 10 s)".
// Yet a retry's Record runs under context.WithoutCancel of the attempt's
// context, with no deadline when no WithLogoutTimeout is set (the front
// door's configuration): Close's cancel cannot cut it off, nor can the
// 10 s attempt deadline, so Close blocks for as long as the replay cache
// does, whatever ctx says.
func TestReviewRetryCloseBoundedWhenRecordHangs(t *testing.T) {
	cache := &hangingRecordCache{Cache: memoryCache(t), entered: make(chan struct{}, 10), release: make(chan struct{})}
	env := newRetryEnv(t, rp.RetryPolicy{}, rp.WithReplayCache(cache))
	// Registered after newRetryEnv's, so it runs first: it lets a hung
	// Record go, and the Close still waiting with it.
	t.Cleanup(func() { close(cache.release) })
	checkAnswer(t, post(env.h, formBody(tokenFor(t, 1))), http.StatusBadRequest, "temporarily_unavailable")
	<-env.ender.entered
	env.ender.set(false) // the session store is back; the replay cache hangs

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- env.h.Close(ctx) }()
	<-env.ender.entered // Close's drain retries the logout
	<-cache.entered     // and its Record hangs
	cancel()
	select {
	case <-errc:
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not return 3 s after its context was cancelled: the retry's Record is cut off by nothing")
	}
}
