package jwks

import (
	"context"
	"errors"
	"time"
)

// FakeTimer is a timer the test fires by sending on C.
type FakeTimer struct {
	D    time.Duration
	Miss bool // bounds a kid miss's wait, rather than the loop's
	c    chan time.Time
}

// Fire expires the timer.
func (f *FakeTimer) Fire() { f.c <- time.Time{} }

func (f *FakeTimer) C() <-chan time.Time { return f.c }
func (f *FakeTimer) Stop() bool          { return true }

// WithFakeTimers makes the background loop ask asked for every timer it
// arms (dropped when asked is full or nil); a timer fires only when the
// test calls Fire.
func WithFakeTimers(asked chan<- *FakeTimer) Option {
	return Option(func(o *options) {
		fake := func(miss bool) func(time.Duration) timer {
			return func(d time.Duration) timer {
				t := &FakeTimer{D: d, Miss: miss, c: make(chan time.Time, 1)}
				// Never block the loop (Close must not hang): a test
				// that reads asks gives the channel room.
				select {
				case asked <- t:
				default:
				}
				return t
			}
		}
		o.newTimer, o.newMissTimer = fake(false), fake(true)
	})
}

// Waiters is how many callers wait for the fetch in flight.
func (r *Remote) Waiters() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight == nil {
		return 0
	}
	return r.inflight.waiters
}

var RefreshDelay = refreshDelay

// WithJitter replaces the background schedule's random jitter, which must
// return a value in [0, n): n-1 leaves every wait whole, 0 makes it the
// shortest allowed.
func WithJitter(f func(n int64) int64) Option {
	return Option(func(o *options) { o.jitter = f })
}

// WithKidMissWait bounds how long a kid miss waits for the fetch it needs.
func WithKidMissWait(wait time.Duration) Option {
	return Option(func(o *options) { o.maxMissWait = wait })
}

// MissWaiters is how many Keys calls wait for a kid-miss fetch.
func (r *Remote) MissWaiters() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.missWaiters
}

// Pending reports whether a kid-miss fetch waits to start, and how many
// callers wait for it.
func (r *Remote) Pending() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		return false, 0
	}
	return true, r.pending.waiters
}

// InFlight reports whether a fetch is in flight: started, and not yet
// published (the OP may not have seen its request yet).
func (r *Remote) InFlight() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight != nil
}

// WithClock sets the time source for refresh scheduling and the kid-miss
// rate limit.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			o.errs = append(o.errs, errors.New("nil clock"))
			return
		}
		o.now = now
	}
}

// WithRefreshBounds clamps the background refresh interval that the OP's
// cache headers ask for (default 5 min and 24 h).
func WithRefreshBounds(minInterval, maxInterval time.Duration) Option {
	return func(o *options) { o.minRefresh, o.maxRefresh = minInterval, maxInterval }
}

// WithKidMissInterval sets how often at most a token with an unknown kid
// may trigger a fetch.
func WithKidMissInterval(d time.Duration) Option {
	return func(o *options) { o.kidMissInterval = d }
}

// Refresh fetches the key set now, or waits for the fetch in flight.
func (r *Remote) Refresh(ctx context.Context) error { return r.refresh(ctx) }

const (
	DefaultKidMissInterval = defaultKidMissInterval
	DefaultMinRefresh      = defaultMinRefresh
	DefaultMaxRefresh      = defaultMaxRefresh
	DefaultRefresh         = defaultRefresh
)

// HasPrivate reports whether k carries a private key: a KeySet's never
// does.
func HasPrivate(k Key) bool { return k.private != nil }
