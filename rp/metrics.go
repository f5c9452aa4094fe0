package rp

import "time"

// Metrics receives what a Handler observed about each request. Methods are
// called on the request path, so implementations must be fast and safe for
// concurrent use.
//
// The issuer argument is always a configured issuer, or "" when the token
// was rejected before one could be selected: it never carries unverified
// input, so it is safe to use as a metric label.
type Metrics interface {
	// TokenAccepted reports a validated token whose logout succeeded and
	// how many local sessions it ended (zero is a success too).
	TokenAccepted(issuer string, sessionsEnded int, elapsed time.Duration)
	// TokenRejected reports a request answered with 400, 405 or 413. The
	// reason is a short stable code (see Reason), e.g. "replay".
	TokenRejected(issuer, reason string, elapsed time.Duration)
	// LogoutFailed reports a valid token whose logout failed (session
	// store unavailable); the OP is told to retry.
	LogoutFailed(issuer string, elapsed time.Duration)

	// The next three report the retry queue of WithRetry. Pending logouts
	// are those queued and neither retried nor abandoned since.

	// LogoutQueued reports a failed logout kept for a retry: one more
	// pending.
	LogoutQueued(issuer string)
	// LogoutRetried reports a pending logout that is now complete: one
	// fewer pending. sessionsEnded is what the queue's retry ended; it is
	// 0 when another delivery of the token (the OP's retry, here or at
	// another replica) completed it, whose sessions were reported there.
	LogoutRetried(issuer string, sessionsEnded int)
	// LogoutAbandoned reports a failed logout that will not be retried:
	// reason AbandonFull (the queue was at capacity: it was never
	// pending), AbandonExpired (retried for RetryPolicy.For in vain) or
	// AbandonClosed (pending when Close gave up, or failed after Close).
	// All but AbandonFull mean one fewer pending.
	LogoutAbandoned(issuer, reason string)
}
