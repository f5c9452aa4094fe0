package rp_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/bclogout/bclogout/internal/errs"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// flakyEnder fails while down is set, counting every call and every
// session it ended; with hang set, a call waits for its context.
type flakyEnder struct {
	mu      sync.Mutex
	down    bool
	hang    bool
	calls   int
	ended   map[string]int       // by sid
	endedAt map[string]time.Time // the latest date each sid was ended as of
	entered chan struct{}
}

func newFlakyEnder() *flakyEnder {
	return &flakyEnder{down: true, ended: map[string]int{}, endedAt: map[string]time.Time{}, entered: make(chan struct{}, 100)}
}

func (e *flakyEnder) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	e.mu.Lock()
	e.calls++
	down, hang := e.down, e.hang
	e.mu.Unlock()
	e.entered <- struct{}{}
	if hang {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if down {
		return 0, errors.New("store down")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended[l.SessionID]++
	if l.IssuedAt.After(e.endedAt[l.SessionID]) {
		e.endedAt[l.SessionID] = l.IssuedAt
	}
	return 1, nil
}

func (e *flakyEnder) set(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
}

func (e *flakyEnder) stats() (calls int, ended map[string]int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.ended))
	for k, v := range e.ended {
		out[k] = v
	}
	return e.calls, out
}

// retryEnv is a Handler with a retry queue whose jitter always picks the
// longest wait, so each wait is exactly its backoff. Build it inside
// synctest.Test: the queue waits on the time package, whose clock the
// bubble moves only when every goroutine in it is blocked, so a test
// steps time with time.Sleep and reads the queue's waits off time.Now
// exactly, without waiting for real time.
type retryEnv struct {
	h       *rp.Handler
	ender   *flakyEnder
	metrics *countingMetrics
	last    time.Time // (bubble) time of the Ender's last call
}

func newRetryEnv(t *testing.T, keepFor time.Duration, opts ...rp.HandlerOption) *retryEnv {
	t.Helper()
	env := &retryEnv{ender: newFlakyEnder(), metrics: &countingMetrics{}, last: time.Now()}
	opts = append([]rp.HandlerOption{
		rp.WithReplayCache(memoryCache(t)),
		rp.WithLogger(quietLogger()),
		rp.WithMetrics(env.metrics.observe),
		rp.WithRetry(keepFor),
		rp.WithRetryJitter(func(n int64) int64 { return n - 1 }),
	}, opts...)
	h, err := rp.NewHandler(newVerifier(t, nil), env.ender, opts...)
	if err != nil {
		t.Fatal(err)
	}
	env.h = h
	t.Cleanup(func() {
		// A test that left its store down is not waited for.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = h.Close(ctx)
	})
	return env
}

// sinceLastCall waits for the Ender's next call and returns the time since
// its previous one (or since newRetryEnv). In the bubble, time moves only
// while every goroutine waits, so the time from a failed call to the
// retry is exactly the wait the queue chose.
func (env *retryEnv) sinceLastCall() time.Duration {
	<-env.ender.entered
	now := time.Now()
	d := now.Sub(env.last)
	env.last = now
	return d
}

func (env *retryEnv) close(t *testing.T) {
	t.Helper()
	if err := env.h.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func tokenFor(t *testing.T, i int) string {
	return mint(t, both(setClaim("jti", fmt.Sprintf("jti-%d", i)), setClaim("sid", fmt.Sprintf("sid-%d", i))))
}

// A logout whose store failed is retried with doubling, capped waits
// until the store is back, without the OP delivering it again; then its
// jti is consumed.
func TestRetryBacksOffUntilTheStoreIsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, time.Hour, rp.WithRetryMaxBackoff(4*time.Second), rp.WithRetryMinBackoff(time.Second))
		token := tokenFor(t, 1)
		checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "temporarily_unavailable")
		if env.metrics.queued != 1 {
			t.Fatalf("queued %d, want 1", env.metrics.queued)
		}
		env.sinceLastCall() // the request's own
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			if i == 3 {
				env.ender.set(false) // the store comes back
			}
			if got := env.sinceLastCall(); got != want {
				t.Fatalf("wait %d = %v, want %v", i, got, want)
			}
		}
		env.close(t)
		calls, ended := env.ender.stats()
		if calls != 5 || ended["sid-1"] != 1 {
			t.Errorf("EndSessions calls %d, sid-1 ended %d times; want 5 calls (1 request + 4 retries), ended once", calls, ended["sid-1"])
		}
		if len(env.metrics.retried) != 1 || env.metrics.retried[0] != 1 || len(env.metrics.abandoned) != 0 {
			t.Errorf("retried %v, abandoned %v; want [1] and none", env.metrics.retried, env.metrics.abandoned)
		}
		// The queue consumed the jti as a request would have.
		checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "invalid_request")
	})
}

// Jitter spreads each wait over the upper half of its backoff: a first
// wait of 1 s lies in [500ms, 1s], both ends reachable, and the default
// random jitter stays inside.
func TestRetryJitterBounds(t *testing.T) {
	tests := []struct {
		name     string
		jitter   func(n int64) int64 // nil: the default, random
		logouts  int
		min, max time.Duration
	}{
		{name: "shortest", jitter: func(int64) int64 { return 0 }, logouts: 1, min: 500 * time.Millisecond, max: 500 * time.Millisecond},
		{name: "longest", jitter: func(n int64) int64 { return n - 1 }, logouts: 1, min: time.Second, max: time.Second},
		{name: "random", logouts: 50, min: 500 * time.Millisecond, max: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newRetryEnv(t, 0, rp.WithRetryMinBackoff(time.Second), rp.WithRetryJitter(tt.jitter))
				start := time.Now()
				for i := range tt.logouts {
					checkAnswer(t, post(env.h, formBody(tokenFor(t, i))), http.StatusBadRequest, "temporarily_unavailable")
					<-env.ender.entered
				}
				// A second retry comes at least 1.5 s after the
				// request, so these are the first retries.
				for range tt.logouts {
					<-env.ender.entered
					if got := time.Since(start); got < tt.min || got > tt.max {
						t.Errorf("first wait = %v, want in [%v, %v]", got, tt.min, tt.max)
					}
				}
			})
		})
	}
}

// The OP's own retry succeeding first makes the queued logout a no-op.
func TestRetryOPDeliveryCompletesPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0)
		token := tokenFor(t, 1)
		checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "temporarily_unavailable")
		env.ender.set(false)
		checkAnswer(t, post(env.h, formBody(token)), http.StatusOK, "")
		if len(env.metrics.retried) != 1 {
			t.Errorf("retried %v right after the OP's delivery, want the pending logout done at once", env.metrics.retried)
		}
		time.Sleep(time.Second) // the queued retry's due time
		synctest.Wait()
		env.close(t)
		calls, ended := env.ender.stats()
		if calls != 2 || ended["sid-1"] != 1 {
			t.Errorf("EndSessions calls %d, sid-1 ended %d times; want 2 and 1", calls, ended["sid-1"])
		}
		if len(env.metrics.retried) != 1 || env.metrics.retried[0] != 0 {
			t.Errorf("retried %v, want [0]: completed by the OP's delivery", env.metrics.retried)
		}
	})
}

// A token delivered again while its logout is pending is one pending
// logout, not two.
func TestRetryDeduplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0)
		token := tokenFor(t, 1)
		for range 3 {
			checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "temporarily_unavailable")
		}
		if env.metrics.queued != 1 {
			t.Errorf("queued %d, want 1", env.metrics.queued)
		}
		env.ender.set(false)
		env.close(t) // drains: the pending logout is retried at once
		if _, ended := env.ender.stats(); ended["sid-1"] != 1 {
			t.Errorf("sid-1 ended %d times, want 1", ended["sid-1"])
		}
	})
}

// A full queue refuses the logout and counts it: never a silent drop.
func TestRetryQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0, rp.WithRetryCapacity(2))
		for i := range 3 {
			checkAnswer(t, post(env.h, formBody(tokenFor(t, i))), http.StatusBadRequest, "temporarily_unavailable")
		}
		if env.metrics.queued != 2 || strings.Join(env.metrics.abandoned, ",") != rp.AbandonFull {
			t.Errorf("queued %d, abandoned %v; want 2 and [full]", env.metrics.queued, env.metrics.abandoned)
		}
	})
}

// A logout still failing when WithRetry's keepFor has passed is abandoned.
func TestRetryGivesUpAfterFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 3*time.Second, rp.WithRetryMinBackoff(time.Second))
		checkAnswer(t, post(env.h, formBody(tokenFor(t, 1))), http.StatusBadRequest, "temporarily_unavailable")
		env.sinceLastCall() // the request's own
		if d := env.sinceLastCall(); d != time.Second {
			t.Fatalf("first wait %v, want 1s", d) // fails at 1 s
		}
		if d := env.sinceLastCall(); d != 2*time.Second {
			t.Fatalf("second wait %v, want 2s (cut to the give-up time)", d) // fails at the give-up time
		}
		env.close(t)
		if strings.Join(env.metrics.abandoned, ",") != rp.AbandonExpired {
			t.Errorf("abandoned %v, want [expired]", env.metrics.abandoned)
		}
		if calls, _ := env.ender.stats(); calls != 3 {
			t.Errorf("EndSessions calls %d, want 3", calls)
		}
	})
}

// A replay cache that is down is a failed logout too: queued, and retried
// once the cache is back.
func TestRetryAfterReplayCacheFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cache := &flakyCache{Cache: memoryCache(t), down: true}
		env := newRetryEnv(t, 0, rp.WithReplayCache(cache))
		env.ender.set(false)
		token := tokenFor(t, 1)
		checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "temporarily_unavailable")
		if calls, _ := env.ender.stats(); calls != 0 || env.metrics.queued != 1 {
			t.Fatalf("EndSessions calls %d, queued %d; want 0 and 1", calls, env.metrics.queued)
		}
		cache.setDown(false)
		time.Sleep(time.Second) // the retry's due time
		synctest.Wait()
		env.close(t)
		if _, ended := env.ender.stats(); ended["sid-1"] != 1 {
			t.Errorf("sid-1 ended %d times, want 1", ended["sid-1"])
		}
		checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "invalid_request")
	})
}

// flakyCache is a replay cache that fails while down, as a Redis that
// went away would.
type flakyCache struct {
	replay.Cache
	mu   sync.Mutex
	down bool
}

func (c *flakyCache) setDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

func (c *flakyCache) isDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down
}

func (c *flakyCache) Seen(ctx context.Context, iss, jti string) (bool, error) {
	if c.isDown() {
		return false, errors.New("connection refused")
	}
	return c.Cache.Seen(ctx, iss, jti)
}

func (c *flakyCache) Record(ctx context.Context, iss, jti string, until time.Time) error {
	if c.isDown() {
		return errors.New("connection reset")
	}
	return c.Cache.Record(ctx, iss, jti, until)
}

// Close retries every pending logout at once (no waiting out a backoff)
// and returns when the queue is empty.
func TestRetryCloseDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0, rp.WithRetryMaxBackoff(time.Hour), rp.WithRetryMinBackoff(time.Hour))
		for i := range 3 {
			checkAnswer(t, post(env.h, formBody(tokenFor(t, i))), http.StatusBadRequest, "temporarily_unavailable")
		}
		env.ender.set(false)
		start := time.Now()
		env.close(t)
		if d := time.Since(start); d != 0 {
			t.Errorf("Close took %v, want 0: it waited out a backoff", d)
		}
		_, ended := env.ender.stats()
		if len(ended) != 3 || len(env.metrics.retried) != 3 {
			t.Errorf("ended %v, retried %v; want all 3", ended, env.metrics.retried)
		}
		// After Close a failure is counted as abandoned, not queued.
		env.ender.set(true)
		checkAnswer(t, post(env.h, formBody(tokenFor(t, 9))), http.StatusBadRequest, "temporarily_unavailable")
		if strings.Join(env.metrics.abandoned, ",") != rp.AbandonClosed {
			t.Errorf("abandoned %v, want [closed]", env.metrics.abandoned)
		}
	})
}

// Close's deadline cuts off a hanging store: every pending logout is
// abandoned and reported, Close returns the context's error, and the
// queue's goroutine is gone.
func TestRetryCloseDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before, _ := bubbleGoroutines(t)
		env := newRetryEnv(t, 0)
		for i := range 3 {
			checkAnswer(t, post(env.h, formBody(tokenFor(t, i))), http.StatusBadRequest, "temporarily_unavailable")
			<-env.ender.entered
		}
		env.ender.mu.Lock()
		env.ender.hang = true
		env.ender.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- env.h.Close(ctx) }()
		<-env.ender.entered // the drain's first retry hangs in the store
		cancel()
		if err := <-errc; !isErr(err, context.Canceled) {
			t.Fatalf("Close = %v, want context.Canceled", err)
		}
		if len(env.metrics.abandoned) != 3 {
			t.Errorf("abandoned %v, want 3 × closed", env.metrics.abandoned)
		}
		for _, r := range env.metrics.abandoned {
			if r != rp.AbandonClosed {
				t.Errorf("abandoned reason %q, want closed", r)
			}
		}
		if err := env.h.Close(context.Background()); !isErr(err, context.Canceled) {
			t.Errorf("second Close = %v, want the first's error", err)
		}
		checkNoGoroutineLeft(t, before)
	})
}

// Close after a failed retry retries the pending logout at once, not
// after the backoff the failure set, even while the queue's goroutine is
// still logging that failure; and that log reads the logout's schedule
// under the lock Close writes it under (go test -race).
func TestRetryCloseAfterAFailedRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0, rp.WithLogger(slog.New(stallingHandler{})))
		checkAnswer(t, post(env.h, formBody(tokenFor(t, 1))), http.StatusBadRequest, "temporarily_unavailable")
		// The first retry, at 1 s, fails; its log holds the queue's
		// goroutine until 1 s + 1 ms. Nothing here waits for it.
		time.Sleep(time.Second + time.Nanosecond)
		env.ender.set(false)
		start := time.Now()
		env.close(t)
		if d := time.Since(start); d > time.Millisecond {
			t.Errorf("Close took %v, want at most the 1 ms the log held the queue: it waited out the failed retry's backoff", d)
		}
		if calls, ended := env.ender.stats(); calls != 3 || ended["sid-1"] != 1 {
			t.Errorf("EndSessions calls %d, sid-1 ended %d times; want 3 (request, retry, Close's retry) and 1", calls, ended["sid-1"])
		}
	})
}

// stallingHandler is a logger that holds, for 1 ms, the goroutine that
// logs a failed retry of a queued logout, and discards every record.
type stallingHandler struct{}

func (stallingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (stallingHandler) WithAttrs([]slog.Attr) slog.Handler       { return stallingHandler{} }
func (stallingHandler) WithGroup(string) slog.Handler            { return stallingHandler{} }
func (stallingHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "retry of a queued logout failed") {
		time.Sleep(time.Millisecond)
	}
	return nil
}

// checkNoGoroutineLeft fails if more goroutines of the caller's synctest
// bubble exist than before (bubbleGoroutines). synctest.Wait returns once
// every other goroutine of the bubble has exited or is blocked, so one that
// closed its done channel but had not yet returned is not counted, and one
// still waiting (on a channel, a timer) is. Goroutines outside the bubble
// (the runtime's cleanups, a finished test's leftovers) are never counted.
func checkNoGoroutineLeft(t *testing.T, before int) {
	t.Helper()
	synctest.Wait()
	if n, stacks := bubbleGoroutines(t); n > before {
		t.Fatalf("%d goroutines in the bubble after Close, %d before:\n%s", n, before, stacks)
	}
}

// bubbleHeader finds the bubble in a goroutine's traceback header, such
// as "goroutine 7 [select (durable), synctest bubble 3]:".
var bubbleHeader = regexp.MustCompile(`^goroutine \d+ \[.*, synctest bubble (\d+)\b`)

// bubbleGoroutines counts the goroutines in the caller's synctest bubble,
// and returns their stacks.
func bubbleGoroutines(t *testing.T) (int, string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	self := bubbleHeader.FindStringSubmatch(string(buf[:runtime.Stack(buf, false)]))
	if self == nil {
		t.Fatal("no synctest bubble in this goroutine's traceback header")
	}
	var mine []string
	for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if m := bubbleHeader.FindStringSubmatch(g); m != nil && m[1] == self[1] {
			mine = append(mine, g)
		}
	}
	return len(mine), strings.Join(mine, "\n\n")
}

// The OnLogout hook (refresh-token revocation, cascading) runs for a
// logout the queue completed, with the validated event.
func TestRetryRunsOnLogout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type call struct {
			sid string
			n   int
		}
		calls := make(chan call, 1)
		env := newRetryEnv(t, 0, rp.WithOnLogout(func(_ context.Context, e *rp.LogoutEvent, n int) {
			calls <- call{e.SessionID, n}
		}))
		checkAnswer(t, post(env.h, formBody(tokenFor(t, 1))), http.StatusBadRequest, "temporarily_unavailable")
		env.ender.set(false)
		if got := <-calls; got != (call{"sid-1", 1}) { // at the retry's due time
			t.Errorf("OnLogout got %+v, want sid-1 with 1 session", got)
		}
		env.close(t)
	})
}

// Close with a context already done returns nil when nothing was left to
// abandon.
func TestRetryCloseEmptyQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 20 {
			env := newRetryEnv(t, 0)
			if err := env.h.Close(ctx); err != nil {
				t.Fatalf("Close of an empty queue = %v, want nil", err)
			}
		}
		if h, err := rp.NewHandler(newVerifier(t, nil), newFlakyEnder()); err != nil || h.Close(ctx) != nil {
			t.Errorf("Close without WithRetry: %v", err)
		}
	})
}

func TestRetryPolicyErrors(t *testing.T) {
	tests := []struct {
		name    string
		keepFor time.Duration
		opts    []rp.HandlerOption
	}{
		{name: "negative capacity", opts: []rp.HandlerOption{rp.WithRetryCapacity(-1)}},
		{name: "negative min backoff", opts: []rp.HandlerOption{rp.WithRetryMinBackoff(-time.Second)}},
		{name: "negative max backoff", opts: []rp.HandlerOption{rp.WithRetryMaxBackoff(-time.Second)}},
		{name: "negative keepFor", keepFor: -time.Second},
		{name: "min above max", opts: []rp.HandlerOption{rp.WithRetryMaxBackoff(time.Second), rp.WithRetryMinBackoff(time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := rp.NewHandler(newVerifier(t, nil), newFlakyEnder(), append(tt.opts, rp.WithRetry(tt.keepFor))...); !isErr(err, errs.ErrInvalidConfig) {
				t.Fatalf("NewHandler() error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// A token already queued whose second delivery fails too must still end
// its sessions: the second delivery must not be taken for another
// delivery's completed logout.
func TestRetryKeepsASecondFailedDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cache := &flakyCache{Cache: memoryCache(t)}
		env := newRetryEnv(t, 0, rp.WithReplayCache(cache))
		token := tokenFor(t, 1)
		checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "temporarily_unavailable")
		cache.setDown(true)
		checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "temporarily_unavailable")
		env.ender.set(false)
		cache.setDown(false)
		time.Sleep(time.Second) // the retry's due time
		synctest.Wait()
		env.close(t)
		if _, ended := env.ender.stats(); ended["sid-1"] != 1 {
			t.Errorf("sid-1 ended %d times, want 1: the logout was lost", ended["sid-1"])
		}
	})
}

// Two logouts without a token of one OP session that a store failed (two
// Sign outs of one sid, a login between them) are one pending retry,
// which ends the sessions as of the later: the earlier date would spare
// the login between them.
func TestRetryKeepsTheLaterOfTwoTokenlessLogouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0)
		first := time.Now()
		later := first.Add(time.Minute)
		for _, at := range []time.Time{first, later} {
			ev := &rp.LogoutEvent{Door: "signout", Logout: sessionadapter.Logout{Issuer: testIssuer, SessionID: "sid-1", IssuedAt: at}}
			if _, err := env.h.End(doorRequest(), ev); !errors.Is(err, rp.ErrTemporary) {
				t.Fatalf("End with the store down = %v, want ErrTemporary", err)
			}
		}
		if env.metrics.queued != 1 {
			t.Errorf("queued %d, want 1", env.metrics.queued)
		}
		env.ender.set(false)
		env.close(t) // drains: the pending logout is retried at once
		env.ender.mu.Lock()
		defer env.ender.mu.Unlock()
		if got := env.ender.endedAt["sid-1"]; !got.Equal(later) {
			t.Errorf("sid-1 ended as of %v, want the later logout's %v", got, later)
		}
	})
}
