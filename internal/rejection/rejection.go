// Package rejection holds the failure classes of a back-channel logout
// request, exported by package rp as its sentinel errors (rp.ErrMalformed
// is Malformed, and so on), and the one mapping from an error to the short
// label that logs, metrics and the bclogout tool show for it. It is its own
// package so that the tool and the demo label a rejection exactly as rp
// labels it for metrics, without rp exporting the mapping.
package rejection

import "errors"

// The failure classes (OpenID Connect Back-Channel Logout 1.0 §2.6, §2.8).
// Errors wrap exactly one of them, with detail that names the rule. Their
// text says "token": a logout token's, an ID token's and a Security Event
// Token's refusals are of the same classes.
var (
	Malformed  = errors.New("rp: malformed token")
	Signature  = errors.New("rp: token signature not acceptable")
	Encryption = errors.New("rp: token encryption invalid")
	Issuer     = errors.New("rp: token issuer invalid")
	Audience   = errors.New("rp: token audience invalid")
	Time       = errors.New("rp: token outside its validity window")
	Claims     = errors.New("rp: token claims invalid")
	Replay     = errors.New("rp: token already used")
	Temporary  = errors.New("rp: logout temporarily failed")
	// Request is the HTTP request's own failure (method, content type,
	// body size, form). It is a Malformed error too, with a label of its
	// own because a 405 or a 413 says something else to an operator.
	Request error = &subclass{msg: "rp: invalid logout request", of: Malformed}
)

// subclass is a class that refines another: errors.Is matches both.
type subclass struct {
	msg string
	of  error
}

func (e *subclass) Error() string { return e.msg }
func (e *subclass) Unwrap() error { return e.of }

// labels are the classes and their labels, the refinement first.
var labels = []struct {
	class error
	label string
}{
	{Request, "request"},
	{Malformed, "malformed"},
	{Signature, "signature"},
	{Encryption, "encryption"},
	{Issuer, "issuer"},
	{Audience, "audience"},
	{Time, "time"},
	{Claims, "claims"},
	{Replay, "replay"},
	{Temporary, "temporary"},
}

// Reason returns the stable label of err's class: "request", "malformed",
// "signature", "encryption", "issuer", "audience", "time", "claims",
// "replay" or "temporary"; "" for nil, and "internal" for an error that
// wraps no class.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, l := range labels {
		if errors.Is(err, l.class) {
			return l.label
		}
	}
	return "internal"
}
