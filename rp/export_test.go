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

// WithRetryJitter replaces the queue's random jitter, which must return a
// value in [0, n).
func WithRetryJitter(f func(n int64) int64) HandlerOption {
	return func(o *handlerOptions) { o.retryJitter = f }
}

// WithRetryCapacity bounds the retry queue (default 10,000).
func WithRetryCapacity(n int) HandlerOption {
	return func(o *handlerOptions) { o.retryCapacity = n }
}

// WithRetryMinBackoff sets the first wait before a retry (default 1 s).
func WithRetryMinBackoff(d time.Duration) HandlerOption {
	return func(o *handlerOptions) { o.retryMinBackoff = d }
}

// WithRetryMaxBackoff caps the wait between two retries (default 1 min).
func WithRetryMaxBackoff(d time.Duration) HandlerOption {
	return func(o *handlerOptions) { o.retryMaxBackoff = d }
}

// Interleaved is interleaved for the external benchmarks.
var Interleaved = interleaved

// WithClock sets the clock that iat and exp are checked against
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Retry queue events and the request body cap, for the tests.
const (
	AbandonFull    = abandonFull
	AbandonExpired = abandonExpired
	AbandonClosed  = abandonClosed
	MaxBodyBytes   = maxBodyBytes
	MaxTokenBytes  = maxTokenBytes
)

// AcceptableUntil is how long the replay cache remembers ev's jti.
func AcceptableUntil(ev *LogoutEvent) time.Time { return ev.acceptableUntil }

// SETAcceptableUntil is how long the pipeline remembers ev's jti.
func SETAcceptableUntil(ev *SecurityEvent) time.Time { return ev.acceptableUntil }
