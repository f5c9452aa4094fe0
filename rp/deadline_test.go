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
	// block makes Reserve wait for its context, as a client retrying a
	// server that is down does.
	block bool
}

func (c *deadlineCache) record(op string, ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, _ := ctx.Deadline()
	c.deadlines[op] = d
}

func (c *deadlineCache) Reserve(ctx context.Context, iss, jti string, until time.Time) (replay.Reservation, error) {
	c.record("reserve", ctx)
	if c.block {
		if _, ok := ctx.Deadline(); !ok {
			return replay.Reservation{}, errors.New("reserve would block forever: no deadline")
		}
		<-ctx.Done()
		return replay.Reservation{}, ctx.Err()
	}
	return c.Cache.Reserve(ctx, iss, jti, until)
}

func (c *deadlineCache) Commit(ctx context.Context, r replay.Reservation) error {
	c.record("commit", ctx)
	return c.Cache.Commit(ctx, r)
}

func (c *deadlineCache) Release(ctx context.Context, r replay.Reservation) error {
	c.record("release", ctx)
	return c.Cache.Release(ctx, r)
}

// WithLogoutTimeout is one deadline for all the store work of a request:
// the replay reservation, the session ending (which stops a fifth early),
// and the commit or release.
func TestHandlerOneStoreDeadline(t *testing.T) {
	const timeout = time.Minute
	tests := []struct {
		name      string
		enderErr  error
		finishing string // the replay call after the session ending
	}{
		{name: "logout succeeds", finishing: "commit"},
		{name: "logout fails", enderErr: errors.New("store down"), finishing: "release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := &deadlineCache{Cache: memoryCache(t), deadlines: map[string]time.Time{}}
			var endDeadline time.Time
			ender := sessionadapter.EnderFunc(func(ctx context.Context, _ sessionadapter.Logout) (int, error) {
				endDeadline, _ = ctx.Deadline()
				return 1, tt.enderErr
			})
			h, err := rp.NewHandler(newVerifier(t, nil), ender, rp.WithReplayCache(cache),
				rp.WithLogoutTimeout(timeout), rp.WithLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			post(h, formBody(mint(t, nil)))
			reserve, finish := cache.deadlines["reserve"], cache.deadlines[tt.finishing]
			if reserve.IsZero() || reserve.Before(before.Add(timeout)) || reserve.After(time.Now().Add(timeout)) {
				t.Fatalf("reserve deadline %v, want the request's start + %v", reserve, timeout)
			}
			if !finish.Equal(reserve) {
				t.Errorf("%s deadline %v, want the reservation's %v", tt.finishing, finish, reserve)
			}
			if want := reserve.Add(-timeout / 5); !endDeadline.Equal(want) {
				t.Errorf("EndSessions deadline %v, want %v (a fifth before the store deadline)", endDeadline, want)
			}
		})
	}
}

// A replay cache that hangs (a client retrying a Redis that is down) is cut
// off by the logout timeout: the OP gets 400 temporarily_unavailable.
func TestHandlerLogoutTimeoutBoundsReservation(t *testing.T) {
	cache := &deadlineCache{Cache: memoryCache(t), deadlines: map[string]time.Time{}, block: true}
	env := newHandlerEnv(t, nil, rp.WithReplayCache(cache), rp.WithLogoutTimeout(20*time.Millisecond))
	checkAnswer(t, post(env.h, formBody(mint(t, nil))), http.StatusBadRequest, "temporarily_unavailable")
	if !errors.Is(env.rejected[0], context.DeadlineExceeded) {
		t.Errorf("rejected with %v, want the deadline", env.rejected[0])
	}
	if len(env.ender.calls) != 0 {
		t.Errorf("EndSessions called %d times after a failed reservation", len(env.ender.calls))
	}
}
