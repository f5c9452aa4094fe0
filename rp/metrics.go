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
}
