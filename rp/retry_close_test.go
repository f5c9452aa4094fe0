package rp_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
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

// Close(ctx) gives up when ctx is done even when a retry's Record hangs
// (a replay cache over a store that stopped answering): the record runs
// under the attempt's own deadline, which Close cancels, so Close returns
// without any time passing.
func TestRetryCloseBoundedWhenRecordHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cache := &hangingRecordCache{Cache: memoryCache(t), entered: make(chan struct{}, 10), release: make(chan struct{})}
		env := newRetryEnv(t, 0, rp.WithReplayCache(cache))
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
		cancelled := time.Now()
		select {
		case <-errc:
		case <-time.After(3 * time.Second):
			t.Fatal("Close did not return 3 s after its context was cancelled: the retry's Record is cut off by nothing")
		}
		if d := time.Since(cancelled); d != 0 {
			t.Errorf("Close returned %v after its context was cancelled, want at once: the retry's Record outlived the cancel", d)
		}
	})
}
