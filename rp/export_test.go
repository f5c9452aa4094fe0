package rp

import (
	"sync/atomic"
	"time"
)

// CountDecryptAttempts counts the private-key operations (JWE decryption
// attempts) from now until the returned stop is called.
func CountDecryptAttempts() (n *atomic.Int64, stop func()) {
	n = new(atomic.Int64)
	count := func() { n.Add(1) }
	decryptHook.Store(&count)
	return n, func() { decryptHook.Store(nil) }
}

// WithRetryClock drives the retry queue's time from a test.
func WithRetryClock(c interface {
	Now() time.Time
	After(d time.Duration) (<-chan time.Time, func() bool)
}) HandlerOption {
	return func(o *handlerOptions) { o.retryClock = c }
}

// WithRetryJitter replaces the queue's random jitter, which must return a
// value in [0, n).
func WithRetryJitter(f func(n int64) int64) HandlerOption {
	return func(o *handlerOptions) { o.retryJitter = f }
}

// Interleaved is interleaved for the external benchmarks.
var Interleaved = interleaved

// WithClock sets the clock that iat and exp are checked against
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return verifierOption(func(o *options) { o.now = now })
}
