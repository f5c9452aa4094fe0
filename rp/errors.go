package rp

import (
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/rejection"
)

// Sentinel errors, one per failure class a caller branches on or an
// operator graphs. Every rejection wraps exactly one of them, with detail
// that names the rule it broke (for logs and WithOnReject), e.g.
// "rp: token claims invalid: nonce present". Callers branch with
// errors.Is; the detail is for people.
var (
	// ErrMalformed means the request or the token is not well formed: not
	// a POST of a form with exactly one logout_token (the answer is then
	// 400, 405 or 413), not a compact JWS/JWE, or a header or payload that
	// is not a strict JSON object.
	ErrMalformed = rejection.Malformed
	// ErrSignature means the token's signing cannot be trusted: an
	// algorithm that is none or not allowed (or not the one its key is
	// bound to), an unknown key, a signature that does not verify, a typ
	// that is not a logout token's, a crit or b64 header, or a header that
	// brings its own key (jku, x5u, jwk, x5c).
	ErrSignature = rejection.Signature
	// ErrEncryption means an encrypted token could not be decrypted (no
	// decryption keys, an algorithm not accepted, no key that opens it),
	// or an unencrypted token arrived while encryption is required.
	ErrEncryption = rejection.Encryption
	// ErrIssuer means iss is missing or is not a configured issuer.
	ErrIssuer = rejection.Issuer
	// ErrAudience means aud is missing, does not contain the client ID, or
	// contains an audience that is not trusted.
	ErrAudience = rejection.Audience
	// ErrTime means iat is missing, in the future or older than the
	// maximum age, or exp is malformed, past, or missing while required.
	ErrTime = rejection.Time
	// ErrClaims means a claim rule of §2.4 is broken: no sub and no sid
	// (or one that is not a non-empty string), no sid while one is
	// required, events without the back-channel logout event object, a
	// nonce, or a jti that is not a non-empty string.
	ErrClaims = rejection.Claims
	// ErrReplay means the token's (iss, jti) already completed a logout.
	ErrReplay = rejection.Replay
	// ErrTemporary means the logout could not be completed for now (keys,
	// replay cache or session store unavailable); the OP should retry.
	ErrTemporary = rejection.Temporary
)

// configError is the module's invalid-configuration error
// (bclogout.ErrInvalidConfig) with detail: every error of NewVerifier,
// Join, NewHandler and Discover that is about their arguments or options
// (a nil option included) wraps it.
func configError(format string, args ...any) error {
	return errs.Config("rp", format, args...)
}
