package rp

import (
	"errors"

	"github.com/bclogout/bclogout/internal/errs"
)

// Sentinel errors, one per failure class. Errors returned by this package
// wrap exactly one of them (ErrExpMissing is itself an ErrExpired), with detail for logs; callers
// branch with errors.Is.
var (
	// ErrMalformed means the token is not a well-formed compact JWS/JWE or
	// its header or payload is not a JSON object.
	ErrMalformed = errors.New("rp: malformed logout token")
	// ErrEncryption means an encrypted token could not be decrypted, no
	// decryption keys are configured, or an unencrypted token arrived while
	// encryption is required.
	ErrEncryption = errors.New("rp: logout token encryption invalid")
	// ErrAlgorithm means the signing algorithm is none, not allowed, an HMAC
	// algorithm without a configured client secret, or not the one the
	// selected key is bound to.
	ErrAlgorithm = errors.New("rp: logout token algorithm not allowed")
	// ErrUnknownKey means no key of the OP's key set can verify the token.
	ErrUnknownKey = errors.New("rp: logout token signing key unknown")
	// ErrSignature means the signature does not verify.
	ErrSignature = errors.New("rp: logout token signature invalid")
	// ErrType means the typ header names a type other than a logout token.
	ErrType = errors.New("rp: logout token type invalid")
	// ErrCritical means the crit header (or b64) asks for an extension this
	// package does not understand.
	ErrCritical = errors.New("rp: logout token critical header not understood")
	// ErrForbiddenHeader means the token carries jku, x5u, jwk or x5c:
	// headers that would let a token choose its own verification key.
	ErrForbiddenHeader = errors.New("rp: logout token header forbidden")
	// ErrIssuer means iss is missing or is not a configured issuer.
	ErrIssuer = errors.New("rp: logout token issuer invalid")
	// ErrAudience means aud is missing, does not contain the client ID, or
	// contains an audience that is not trusted.
	ErrAudience = errors.New("rp: logout token audience invalid")
	// ErrIssuedAt means iat is missing, in the future, or older than the
	// maximum age.
	ErrIssuedAt = errors.New("rp: logout token issued-at invalid")
	// ErrExpired means exp is in the past, malformed, or missing while
	// required; the last case is also ErrExpMissing.
	ErrExpired = errors.New("rp: logout token expired")
	// ErrExpMissing means the token has no exp while WithRequireExp
	// requires one: most likely an OP that omits exp (Ory Hydra, older
	// Keycloak and authentik) rather than a late token. It is a refinement
	// of ErrExpired, so errors.Is(err, ErrExpired) holds for it too and
	// code written before it existed still classifies it; Reason reports
	// it as "exp_missing".
	ErrExpMissing error = &subclassError{msg: "rp: logout token exp missing", of: ErrExpired}
	// ErrJTI means jti is missing or not a non-empty string.
	ErrJTI = errors.New("rp: logout token jti invalid")
	// ErrEvents means events lacks the back-channel logout event object.
	ErrEvents = errors.New("rp: logout token events invalid")
	// ErrSubject means neither sub nor sid is present, or one of them is
	// not a non-empty string.
	ErrSubject = errors.New("rp: logout token subject invalid")
	// ErrSessionIDRequired means the client registered
	// backchannel_logout_session_required and the token has no sid.
	ErrSessionIDRequired = errors.New("rp: logout token sid required")
	// ErrNonce means the token carries a nonce, which a logout token must
	// never do.
	ErrNonce = errors.New("rp: logout token carries a nonce")
	// ErrReplay means the token's (iss, jti) was already used.
	ErrReplay = errors.New("rp: logout token already used")
	// ErrTemporary means the logout could not be completed for now (keys,
	// replay cache or session store unavailable); the OP should retry.
	ErrTemporary = errors.New("rp: logout temporarily failed")
	// ErrRequest means the HTTP request itself is invalid: method, content
	// type, body size or form.
	ErrRequest = errors.New("rp: invalid logout request")
)

// configError is the module's invalid-configuration error
// (bclogout.ErrInvalidConfig) with detail: every error of NewVerifier,
// NewMultiVerifier, NewHandler and Discover that is about their arguments
// or options (a nil option included) wraps it.
func configError(format string, args ...any) error {
	return errs.Config("rp", format, args...)
}

// Reason returns a stable short code for err's failure class, for logs,
// metrics and machine-readable output: "malformed", "signature", "replay",
// "issuer", "request", "temporary", and so on; "" for nil and "internal"
// for an error that wraps no sentinel of this package.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrEncryption):
		return "encryption"
	case errors.Is(err, ErrAlgorithm):
		return "algorithm"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_key"
	case errors.Is(err, ErrSignature):
		return "signature"
	case errors.Is(err, ErrType):
		return "type"
	case errors.Is(err, ErrCritical):
		return "critical"
	case errors.Is(err, ErrForbiddenHeader):
		return "forbidden_header"
	case errors.Is(err, ErrIssuer):
		return "issuer"
	case errors.Is(err, ErrAudience):
		return "audience"
	case errors.Is(err, ErrIssuedAt):
		return "issued_at"
	case errors.Is(err, ErrExpMissing):
		return "exp_missing"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrJTI):
		return "jti"
	case errors.Is(err, ErrEvents):
		return "events"
	case errors.Is(err, ErrSubject):
		return "subject"
	case errors.Is(err, ErrSessionIDRequired):
		return "session_id_required"
	case errors.Is(err, ErrNonce):
		return "nonce"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrTemporary):
		return "temporary"
	case errors.Is(err, ErrRequest):
		return "request"
	default:
		return "internal"
	}
}

// subclassError is a sentinel that refines another: errors.Is matches both.
type subclassError struct {
	msg string
	of  error
}

func (e *subclassError) Error() string { return e.msg }
func (e *subclassError) Unwrap() error { return e.of }
