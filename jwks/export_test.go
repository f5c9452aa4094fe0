package jwks

import "time"

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
func WithFakeTimers(asked chan<- *FakeTimer) RemoteOption {
	return remoteOption(func(o *options) {
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

// WithKidMissLimits bounds the kid misses that wait for the next allowed
// fetch: how many, and how long beyond the kid-miss interval.
func WithKidMissLimits(waiters int, wait time.Duration) RemoteOption {
	return remoteOption(func(o *options) { o.maxMissWaiters, o.maxMissWait = waiters, wait })
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
