package rp_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// deadlineCache wraps a replay cache and records the deadline each call's
// context carried (zero: none).
type deadlineCache struct {
	replay.Cache
	mu        sync.Mutex
	deadlines map[string]time.Time
	// block makes Seen wait for its context, as a client retrying a
	// server that is down does.
	block bool
}

func (c *deadlineCache) note(op string, ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, _ := ctx.Deadline()
	c.deadlines[op] = d
}

func (c *deadlineCache) Seen(ctx context.Context, iss, jti string) (bool, error) {
	c.note("seen", ctx)
	if c.block {
		if _, ok := ctx.Deadline(); !ok {
			return false, errors.New("seen would block forever: no deadline")
		}
		<-ctx.Done()
		return false, ctx.Err()
	}
	return c.Cache.Seen(ctx, iss, jti)
}

func (c *deadlineCache) Record(ctx context.Context, iss, jti string, until time.Time) error {
	c.note("record", ctx)
	return c.Cache.Record(ctx, iss, jti, until)
}

// WithLogoutTimeout bounds the replay check and the session ending of a
// request with one deadline, and the record with its own.
func TestHandlerStoreDeadline(t *testing.T) {
	const timeout = time.Minute
	cache := &deadlineCache{Cache: memoryCache(t), deadlines: map[string]time.Time{}}
	var endDeadline time.Time
	ender := enderFunc(func(ctx context.Context, _ sessionadapter.Logout) (int, error) {
		endDeadline, _ = ctx.Deadline()
		return 1, nil
	})
	h, err := rp.NewHandler(newVerifier(t, nil), ender, rp.WithReplayCache(cache),
		rp.WithLogoutTimeout(timeout), rp.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	checkAnswer(t, post(h, formBody(mint(t, nil))), http.StatusOK, "")
	seen, record := cache.deadlines["seen"], cache.deadlines["record"]
	if seen.IsZero() || seen.Before(before.Add(timeout)) || seen.After(time.Now().Add(timeout)) {
		t.Fatalf("seen deadline %v, want the request's start + %v", seen, timeout)
	}
	if !endDeadline.Equal(seen) {
		t.Errorf("EndSessions deadline %v, want %v", endDeadline, seen)
	}
	if record.IsZero() || record.Before(seen) || record.After(time.Now().Add(timeout)) {
		t.Errorf("record deadline %v, want one of its own", record)
	}
}

// A replay cache that hangs (a client retrying a Redis that is down) is cut
// off by the logout timeout: the OP gets 400 temporarily_unavailable.
func TestHandlerLogoutTimeoutBoundsReplayCheck(t *testing.T) {
	cache := &deadlineCache{Cache: memoryCache(t), deadlines: map[string]time.Time{}, block: true}
	env := newHandlerEnv(t, nil, rp.WithReplayCache(cache), rp.WithLogoutTimeout(20*time.Millisecond))
	checkAnswer(t, post(env.h, formBody(mint(t, nil))), http.StatusBadRequest, "temporarily_unavailable")
	if !isErr(env.rejected[0], context.DeadlineExceeded) {
		t.Errorf("rejected with %v, want the deadline", env.rejected[0])
	}
	if len(env.ender.calls) != 0 {
		t.Errorf("EndSessions called %d times after a failed replay check", len(env.ender.calls))
	}
}
