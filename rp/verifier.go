package rp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bclogout/bclogout/jwks"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// TokenVerifier turns a raw logout token into a validated event. A Handler
// needs one; *Verifier and *MultiVerifier implement it.
type TokenVerifier interface {
	// Verify validates rawToken and returns its event, or an error that
	// wraps one of this package's sentinels.
	Verify(ctx context.Context, rawToken string) (*LogoutEvent, error)
}

// Verifier validates the logout tokens of one OP for one client. It is
// stateless (no replay check: the Handler does that) and safe for
// concurrent use.
type Verifier struct {
	issuer   string
	clientID string
	keys     jwks.Source
	opts     options
	// algs maps each allowed algorithm name to its jwa value.
	algs map[string]jwa.SignatureAlgorithm
	// decKeys are the decryption keys, converted for decrypt.
	decKeys []decryptionKey
	// closer is the key source Discover created and the Verifier owns.
	closer interface{ Close() error }
}

var _ TokenVerifier = (*Verifier)(nil)

// supportedAlgs are the signature algorithms a Verifier can be configured
// with; "none" is deliberately absent.
func supportedAlg(name string) bool {
	switch name {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512", "EdDSA", "Ed25519",
		"HS256", "HS384", "HS512":
		return true
	}
	return false
}

func isHMAC(alg string) bool { return strings.HasPrefix(alg, "HS") }

// NewVerifier returns a Verifier for tokens that issuer issues to clientID,
// verified with keys. Algorithms default to RS256 unless WithAlgorithms
// names the client's registered algorithm(s). keys may be nil only when
// every allowed algorithm is an HMAC one.
func NewVerifier(issuer, clientID string, keys jwks.Source, opts ...Option) (*Verifier, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return newVerifier(issuer, clientID, keys, o)
}

func newVerifier(issuer, clientID string, keys jwks.Source, o options) (*Verifier, error) {
	if issuer == "" {
		return nil, configError("issuer is required")
	}
	if clientID == "" {
		return nil, configError("client ID is required")
	}
	if o.maxAge <= 0 {
		return nil, configError("max age must be positive, got %v", o.maxAge)
	}
	if o.skew < 0 {
		return nil, configError("clock skew must not be negative, got %v", o.skew)
	}
	if o.now == nil {
		return nil, configError("clock must not be nil")
	}
	if len(o.algs) == 0 {
		o.algs = []string{"RS256"}
	}
	v := &Verifier{issuer: issuer, clientID: clientID, keys: keys, algs: make(map[string]jwa.SignatureAlgorithm, len(o.algs))}
	needKeys, hasHMAC := false, false
	for _, name := range o.algs {
		if !supportedAlg(name) {
			return nil, configError("algorithm %q not supported", name)
		}
		a, ok := jwa.LookupSignatureAlgorithm(name)
		if !ok {
			return nil, configError("algorithm %q not supported", name)
		}
		if isHMAC(name) {
			hasHMAC = true
		} else {
			needKeys = true
		}
		v.algs[name] = a
	}
	if hasHMAC && len(o.secret) == 0 {
		return nil, configError("HMAC algorithms need WithClientSecret")
	}
	if !hasHMAC && len(o.secret) > 0 {
		return nil, configError("WithClientSecret needs WithAlgorithms naming an HS algorithm")
	}
	if needKeys && keys == nil {
		return nil, configError("key source is required")
	}
	if o.decryptionKeysSet && o.decryptionKeys.Len() == 0 {
		return nil, configError("WithDecryptionKeys needs a set from jwks.LoadPrivateSet or jwks.ParsePrivateSet")
	}
	if o.requireEncrypt && o.decryptionKeys.Len() == 0 {
		return nil, configError("WithRequireEncryption needs WithDecryptionKeys")
	}
	o.trustedAud = append(o.trustedAud, clientID)
	v.opts = o
	if o.decryptionKeys.Len() > 0 {
		v.decKeys = decryptionKeys([]*jwks.PrivateSet{o.decryptionKeys}, []*Verifier{v})
	}
	return v, nil
}

// Issuer returns the issuer the Verifier accepts tokens from.
func (v *Verifier) Issuer() string { return v.issuer }

// Close releases the key source Discover created. It is a no-op for a
// Verifier from NewVerifier, whose key source belongs to the caller.
func (v *Verifier) Close() error {
	if v.closer != nil {
		return v.closer.Close()
	}
	return nil
}

// Verify validates rawToken (Back-Channel Logout 1.0 §2.6, in its order) and returns its
// event. It does not check for replay.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*LogoutEvent, error) {
	var t token
	if _, err := open(rawToken, v.decKeys, &t); err != nil {
		return nil, err
	}
	if iss, _ := t.claims["iss"].(string); iss != v.issuer {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrIssuer, clip(iss), v.issuer)
	}
	ev, err := v.verifyToken(ctx, &t)
	if err != nil {
		return nil, &issuerError{issuer: v.issuer, err: err}
	}
	return ev, nil
}

// open parses rawToken into t: a compact JWS directly, a compact JWE
// (nested JWT) once decrypted with keys. It returns the key that opened a
// JWE, nil for a JWS.
func open(rawToken string, keys []decryptionKey, t *token) (*decryptionKey, error) {
	switch segments(rawToken) {
	case 2:
		return nil, parseJWS(rawToken, t)
	case 4:
		inner, k, err := decrypt(rawToken, keys)
		if err != nil {
			return nil, err
		}
		if err := parseJWS(inner, t); err != nil {
			return nil, err
		}
		t.encrypted = true
		return k, nil
	default:
		return nil, fmt.Errorf("%w: not a compact JWS or JWE", ErrMalformed)
	}
}

// issuerError carries the configured issuer a rejected token was checked
// against, so that metrics can label it without trusting token input.
type issuerError struct {
	issuer string
	err    error
}

func (e *issuerError) Error() string { return e.err.Error() }
func (e *issuerError) Unwrap() error { return e.err }

// configuredIssuer returns the configured issuer err was checked against,
// or "".
func configuredIssuer(err error) string {
	var ie *issuerError
	if errors.As(err, &ie) {
		return ie.issuer
	}
	return ""
}

// verifyToken checks a parsed token whose unverified iss is v's issuer:
// header policy first (no I/O, no crypto), then the key and signature,
// then the claims.
func (v *Verifier) verifyToken(ctx context.Context, t *token) (*LogoutEvent, error) {
	if v.opts.requireEncrypt && !t.encrypted {
		return nil, fmt.Errorf("%w: token is not encrypted but encryption is required", ErrEncryption)
	}
	alg, err := v.checkHeader(&t.header)
	if err != nil {
		return nil, err
	}
	if err := v.checkSignature(ctx, t, alg); err != nil {
		return nil, err
	}
	return v.checkClaims(t.claims)
}

// checkHeaderShape applies the header rules that no configuration changes,
// before the payload is even decoded: no header that brings its own key,
// no extension, and an alg that is not none.
func checkHeaderShape(h *joseHeader) error {
	switch {
	case h.Jku != nil:
		return fmt.Errorf("%w: jku", ErrForbiddenHeader)
	case h.X5u != nil:
		return fmt.Errorf("%w: x5u", ErrForbiddenHeader)
	case h.JWK != nil:
		return fmt.Errorf("%w: jwk", ErrForbiddenHeader)
	case h.X5c != nil:
		return fmt.Errorf("%w: x5c", ErrForbiddenHeader)
	case h.Crit != nil:
		return fmt.Errorf("%w: crit %s", ErrCritical, clip(string(h.Crit)))
	case h.B64 != nil:
		return fmt.Errorf("%w: b64", ErrCritical)
	case h.Alg == "" || strings.EqualFold(h.Alg, "none"):
		return fmt.Errorf("%w: %q", ErrAlgorithm, clip(h.Alg))
	}
	return nil
}

// checkHeader applies the configured header rules (typ policy, allowed
// algorithms) and returns the algorithm to verify with.
func (v *Verifier) checkHeader(h *joseHeader) (jwa.SignatureAlgorithm, error) {
	var none jwa.SignatureAlgorithm
	if err := v.checkType(h.Typ); err != nil {
		return none, err
	}
	a, ok := v.algs[h.Alg]
	if !ok {
		return none, fmt.Errorf("%w: %q is not an allowed algorithm", ErrAlgorithm, clip(h.Alg))
	}
	return a, nil
}

// checkType accepts the typ values real OPs send (Back-Channel Logout 1.0 §2.4, §4.1 header
// policy), case-insensitively.
func (v *Verifier) checkType(typ *string) error {
	if typ == nil {
		if v.opts.requireTyp {
			return fmt.Errorf("%w: typ missing, logout+jwt required", ErrType)
		}
		return nil
	}
	t := strings.ToLower(*typ)
	switch t {
	case "logout+jwt", "application/logout+jwt":
		return nil
	case "jwt":
		if !v.opts.requireTyp {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrType, clip(*typ))
}

// checkSignature selects the key (by kid, bound to alg: RFC 8725 §3.1) and has
// jwx verify the signature over exactly the compact form parsed above.
func (v *Verifier) checkSignature(ctx context.Context, t *token, alg jwa.SignatureAlgorithm) error {
	name := alg.String()
	if isHMAC(name) {
		if err := verifySignature(v.opts.secret, name, t); err != nil {
			return fmt.Errorf("%w: %s", ErrSignature, name)
		}
		return nil
	}
	kid := t.header.Kid
	set, err := v.keys.Keys(ctx, kid)
	if err != nil {
		return fmt.Errorf("%w: keys unavailable: %w", ErrTemporary, err)
	}
	if set == nil {
		return fmt.Errorf("%w: no key set", ErrUnknownKey)
	}
	var candidates [4]jwks.Key
	n, sameKid := 0, 0
	for i := range set.Len() {
		k := set.Key(i)
		if kid != "" && k.KeyID() != kid {
			continue
		}
		algs := signatureAlgs(k)
		if algs == nil {
			continue
		}
		sameKid++
		if canVerify(k, algs, name) && n < len(candidates) {
			candidates[n] = k
			n++
		}
	}
	switch {
	case kid != "" && sameKid == 0:
		return fmt.Errorf("%w: kid %q", ErrUnknownKey, clip(kid))
	case kid != "" && n == 0:
		return fmt.Errorf("%w: key %q cannot verify %s", ErrAlgorithm, clip(kid), name)
	case kid == "" && n == 0:
		return fmt.Errorf("%w: no key for %s", ErrUnknownKey, name)
	case kid == "" && n > 1:
		return fmt.Errorf("%w: token has no kid and several keys could verify %s", ErrUnknownKey, name)
	}
	for _, k := range candidates[:n] {
		if err := verifySignature(k.Public(), name, t); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %s with kid %q", ErrSignature, name, clip(kid))
}

// verifySignature checks the signature of a compact JWS whose header this
// package has already decoded and judged: jwx's building block verifies the
// signing input (header.payload) with key and alg. jws.VerifyCompactFast is
// not used because it re-reads the header and, since jwx v4, refuses any
// member beyond alg/typ/kid/cty, which real OPs' headers carry; and the
// signature was decoded once by parseJWS.
func verifySignature(key any, alg string, t *token) error {
	return jwsbb.Verify(key, alg, t.signingInput, t.sig)
}
