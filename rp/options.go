package rp

import (
	"time"

	"github.com/bclogout/bclogout/jwks"
)

// Option configures a Verifier, made by NewVerifier or Discover. Options
// apply over secure defaults and the combined configuration is checked by
// the constructor; a nil Option is an ErrInvalidConfig error.
type Option func(*options)

// buildOptions applies opts over the defaults; a nil option is an error.
func buildOptions(opts []Option) (options, error) {
	o := options{
		maxAge: 5 * time.Minute, // Back-Channel Logout 1.0 §2.6: "recent enough"
		skew:   time.Minute,
		now:    time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			return o, configError("nil option")
		}
		opt(&o)
	}
	return o, nil
}

type options struct {
	algs              []string
	secret            []byte
	decryptionKeys    *jwks.PrivateSet
	decryptionKeysSet bool
	requireEncrypt    bool
	maxAge            time.Duration
	skew              time.Duration
	requireExp        bool
	requireTyp        bool
	sessionRequired   bool
	restrictAud       bool
	trustedAud        []string
	now               func() time.Time
	// jwks are WithJWKSOptions, for Discover only.
	jwks    []jwks.Option
	jwksSet bool
}

// WithAlgorithms sets the signing algorithms a token may use: the client's
// registered id_token_signed_response_alg, or a list. It overrides the
// OP's discovery list and the RS256 default. "none" is a constructor error;
// HS256/384/512 need WithClientSecret.
func WithAlgorithms(algs ...string) Option {
	return func(o *options) { o.algs = append([]string(nil), algs...) }
}

// WithClientSecret sets the client secret that verifies HS256/384/512
// tokens. HMAC algorithms are refused without it, and a key from the OP's
// JWKS is never used as an HMAC secret, whatever the token says.
func WithClientSecret(secret []byte) Option {
	return func(o *options) { o.secret = append([]byte(nil), secret...) }
}

// WithDecryptionKeys sets the RP's private keys that decrypt encrypted
// (nested JWE) logout tokens: the keys registered for ID Token encryption,
// read by jwks.ParsePrivateSet, which checked every key once. Without
// them an encrypted token is rejected. A nil or empty set is a constructor
// error.
func WithDecryptionKeys(keys *jwks.PrivateSet) Option {
	return func(o *options) { o.decryptionKeys, o.decryptionKeysSet = keys, true }
}

// WithRequireEncryption rejects unencrypted tokens, for a client that
// registered ID Token encryption (Back-Channel Logout 1.0 §2.6: "SHOULD be rejected"). It
// needs WithDecryptionKeys.
func WithRequireEncryption() Option {
	return func(o *options) { o.requireEncrypt = true }
}

// WithMaxAge sets how long after its iat a token is accepted (default 5m).
func WithMaxAge(d time.Duration) Option {
	return func(o *options) { o.maxAge = d }
}

// WithClockSkew sets the tolerance between the OP's clock and ours for
// iat and exp (default 1m). An ID token's iat (VerifyIDToken) may be at
// most 1m in the future however wide this is: logouts without an OP date
// are dated by that minute, and must reach every login.
func WithClockSkew(d time.Duration) Option {
	return func(o *options) { o.skew = d }
}

// WithRequireExp rejects tokens without exp. By default a missing exp is
// accepted because several OPs omit it and the iat max age bounds the
// token's life anyway.
func WithRequireExp() Option {
	return func(o *options) { o.requireExp = true }
}

// WithRequireExplicitType makes the typ header logout+jwt (or
// application/logout+jwt) mandatory. Most OPs send JWT or nothing, so this
// breaks interoperability with them (spec §4.1).
func WithRequireExplicitType() Option {
	return func(o *options) { o.requireTyp = true }
}

// WithSessionRequired rejects tokens without sid, for a client that
// registered backchannel_logout_session_required.
func WithSessionRequired() Option {
	return func(o *options) { o.sessionRequired = true }
}

// WithTrustedAudiences restricts aud: besides the client ID it may only
// contain the listed audiences. Without this option extra audiences are
// allowed, as most OPs send only the client ID; with it and no arguments,
// aud must contain nothing but the client ID.
func WithTrustedAudiences(aud ...string) Option {
	return func(o *options) {
		o.restrictAud = true
		o.trustedAud = append(o.trustedAud, aud...)
	}
}
