package jwks

import (
	"context"
	"time"
)

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

// RefreshNow fetches the key set now, or waits for the fetch in flight,
// with no rate limit.
func (r *Remote) RefreshNow(ctx context.Context) error { return r.refresh(ctx) }

const (
	DefaultKidMissInterval = defaultKidMissInterval
	DefaultMinRefresh      = defaultMinRefresh
	DefaultMaxRefresh      = defaultMaxRefresh
	DefaultRefresh         = defaultRefresh
)

// HasPrivate reports whether k carries a private key: a KeySet's never
// does.
func HasPrivate(k Key) bool { return k.private != nil }
