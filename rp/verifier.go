package rp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bclogout/bclogout/jwks"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// Verifier validates logout tokens: those of one OP for one client (from
// NewVerifier or Discover), or those of several OPs at one endpoint (from
// Join). It is stateless (no replay check: the Handler does that) and safe
// for concurrent use.
type Verifier struct {
	// tenants are the OPs by issuer; order keeps the constructors' order.
	tenants map[string]*tenant
	order   []*tenant
	// decKeys are every tenant's decryption keys, each distinct key once,
	// in order: one bounded pass over them opens a JWE.
	decKeys []decryptionKey
}

// tenant is one OP and client: its issuer, keys and policy.
type tenant struct {
	issuer   string
	clientID string
	keys     jwks.Source
	opts     options
	// algs maps each allowed algorithm name to its jwa value.
	algs map[string]jwa.SignatureAlgorithm
	// closer is the key source Discover created and the Verifier owns.
	closer interface{ Close() error }
}

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
	if o.jwksSet {
		return nil, configError("WithJWKSOptions applies to Discover only: NewVerifier's key source is the caller's to configure")
	}
	t, err := newTenant(issuer, clientID, keys, o)
	if err != nil {
		return nil, err
	}
	return join([]*tenant{t})
}

// Join returns one Verifier for the OPs of vs, for a multi-tenant RP that
// serves several OPs at one endpoint. The token's unverified iss only
// selects the OP, by exact match; that OP's keys and policy then check
// everything, signature included. Two Verifiers for one issuer are a
// configuration error. The joined Verifier takes vs over: Close it, not
// them.
//
// An encrypted token is opened before its iss can be read. Every OP's
// decryption keys are tried in one pass, each distinct key once, and at
// most 4 keys per token whatever the number of OPs, so a garbage JWE costs
// at most 4 private-key operations. A JWE with a kid only tries the keys
// with that kid; one without a kid needs at most 4 candidate keys among
// all OPs to be sure to open. The issuer the token names must hold the key
// that opened it.
func Join(vs ...*Verifier) (*Verifier, error) {
	if len(vs) == 0 {
		return nil, configError("at least one verifier is required")
	}
	var ts []*tenant
	for _, v := range vs {
		if v == nil {
			return nil, configError("nil verifier")
		}
		ts = append(ts, v.order...)
	}
	return join(ts)
}

func join(ts []*tenant) (*Verifier, error) {
	v := &Verifier{tenants: make(map[string]*tenant, len(ts))}
	var sets []*jwks.PrivateSet
	var owners []*tenant
	for _, t := range ts {
		if _, dup := v.tenants[t.issuer]; dup {
			return nil, configError("two verifiers for issuer %q", t.issuer)
		}
		v.tenants[t.issuer] = t
		v.order = append(v.order, t)
		if hasKeys(t.opts.decryptionKeys) {
			sets, owners = append(sets, t.opts.decryptionKeys), append(owners, t)
		}
	}
	v.decKeys = decryptionKeys(sets, owners)
	return v, nil
}

func newTenant(issuer, clientID string, keys jwks.Source, o options) (*tenant, error) {
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
	t := &tenant{issuer: issuer, clientID: clientID, keys: keys, algs: make(map[string]jwa.SignatureAlgorithm, len(o.algs))}
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
		t.algs[name] = a
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
	if o.decryptionKeysSet && !hasKeys(o.decryptionKeys) {
		return nil, configError("WithDecryptionKeys needs a set from jwks.ParsePrivateSet")
	}
	if o.requireEncrypt && !hasKeys(o.decryptionKeys) {
		return nil, configError("WithRequireEncryption needs WithDecryptionKeys")
	}
	o.trustedAud = append(o.trustedAud, clientID)
	t.opts = o
	return t, nil
}

// Close releases the key sources Discover created. It is a no-op for the
// key source given to NewVerifier, which belongs to the caller.
func (v *Verifier) Close() error {
	var errs []error
	for _, t := range v.order {
		if t.closer != nil {
			errs = append(errs, t.closer.Close())
		}
	}
	return errors.Join(errs...)
}

// Verify validates rawToken (Back-Channel Logout 1.0 §2.6, in its order)
// with the OP its iss names and returns its event. It does not check for
// replay: the Handler does.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*LogoutEvent, error) {
	t := getToken()
	defer putToken(t)
	tn, err := v.openFor(rawToken, t)
	if err != nil {
		return nil, err
	}
	ev, err := tn.verify(ctx, t)
	if err != nil {
		return nil, &issuerError{issuer: tn.issuer, err: err}
	}
	return ev, nil
}

// openFor opens rawToken into t (decrypting a JWE) and returns the
// configured OP its iss names, whose keys and policy then judge it.
func (v *Verifier) openFor(rawToken string, t *token) (*tenant, error) {
	openedBy, err := open(rawToken, v.decKeys, t)
	if err != nil {
		return nil, err
	}
	iss := t.claims.Iss.bytes()
	tn, ok := v.tenants[string(iss)]
	switch {
	case !ok && len(v.order) == 1:
		return nil, fmt.Errorf("%w: got %q, want %q", ErrIssuer, clip(string(iss)), v.order[0].issuer)
	case !ok:
		return nil, fmt.Errorf("%w: %q is not a configured issuer", ErrIssuer, clip(string(iss)))
	case openedBy != nil && !slices.Contains(openedBy.owners, tn):
		// A token for one OP must not be accepted because another
		// OP's key happened to open it.
		return nil, &issuerError{issuer: tn.issuer, err: fmt.Errorf("%w: the issuer's decryption keys do not decrypt the token", ErrEncryption)}
	}
	return tn, nil
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

// verify checks a parsed token whose unverified iss is t's issuer:
// header policy first (no I/O, no crypto), then the key and signature,
// then the claims.
func (t *tenant) verify(ctx context.Context, tok *token) (*LogoutEvent, error) {
	if t.opts.requireEncrypt && !tok.encrypted {
		return nil, fmt.Errorf("%w: token is not encrypted but encryption is required", ErrEncryption)
	}
	alg, err := t.checkHeader(&tok.header)
	if err != nil {
		return nil, err
	}
	if err := t.checkSignature(ctx, tok, alg); err != nil {
		return nil, err
	}
	return t.checkClaims(&tok.claims)
}

// checkHeaderShape applies the header rules that no configuration changes,
// before the payload is even decoded: no header that brings its own key,
// no extension, and an alg that is not none.
func checkHeaderShape(h *joseHeader) error {
	switch {
	case h.Jku != nil:
		return fmt.Errorf("%w: forbidden header jku", ErrSignature)
	case h.X5u != nil:
		return fmt.Errorf("%w: forbidden header x5u", ErrSignature)
	case h.JWK != nil:
		return fmt.Errorf("%w: forbidden header jwk", ErrSignature)
	case h.X5c != nil:
		return fmt.Errorf("%w: forbidden header x5c", ErrSignature)
	case h.Crit != nil:
		return fmt.Errorf("%w: critical header crit %s not understood", ErrSignature, clip(string(h.Crit)))
	case h.B64 != nil:
		return fmt.Errorf("%w: critical header b64 not understood", ErrSignature)
	case h.Alg == "" || strings.EqualFold(h.Alg, "none"):
		return fmt.Errorf("%w: algorithm %q not allowed", ErrSignature, clip(h.Alg))
	}
	return nil
}

// checkHeader applies the configured header rules (typ policy, allowed
// algorithms) and returns the algorithm to verify with.
func (t *tenant) checkHeader(h *joseHeader) (jwa.SignatureAlgorithm, error) {
	var none jwa.SignatureAlgorithm
	if err := t.checkType(h.Typ); err != nil {
		return none, err
	}
	a, ok := t.algs[h.Alg]
	if !ok {
		return none, fmt.Errorf("%w: algorithm %q not allowed", ErrSignature, clip(h.Alg))
	}
	return a, nil
}

// checkType accepts the typ values real OPs send (Back-Channel Logout 1.0 §2.4, §4.1 header
// policy), case-insensitively.
func (t *tenant) checkType(typ *string) error {
	if typ == nil {
		if t.opts.requireTyp {
			return fmt.Errorf("%w: typ missing, logout+jwt required", ErrSignature)
		}
		return nil
	}
	switch strings.ToLower(*typ) {
	case "logout+jwt", "application/logout+jwt":
		return nil
	case "jwt":
		if !t.opts.requireTyp {
			return nil
		}
	}
	return fmt.Errorf("%w: typ %q not accepted", ErrSignature, clip(*typ))
}

// checkSignature selects the key (by kid, bound to alg: RFC 8725 §3.1) and has
// jwx verify the signature over exactly the compact form parsed above.
func (t *tenant) checkSignature(ctx context.Context, tok *token, alg jwa.SignatureAlgorithm) error {
	name := alg.String()
	if isHMAC(name) {
		if err := verifySignature(t.opts.secret, name, tok); err != nil {
			return fmt.Errorf("%w: signature does not verify (%s)", ErrSignature, name)
		}
		return nil
	}
	kid := tok.header.Kid
	set, err := t.keys.Keys(ctx, kid)
	if err != nil {
		return fmt.Errorf("%w: keys unavailable: %w", ErrTemporary, err)
	}
	missed, err := verifyWithSet(set, kid, name, tok)
	if !missed {
		return err
	}
	// A token that the cached key it names (or the one kid-less key) does
	// not verify: its OP may have replaced that key without a new kid (one
	// key and no kid, Core §10.1, or a key made afresh under its old kid),
	// which no kid miss would find. Refresh is rate limited as kid misses
	// are, so forgeries cost no more fetches than unknown kids do.
	if src, ok := t.keys.(refresher); ok {
		if fresh, ferr := src.Refresh(ctx); ferr == nil && fresh != set {
			_, err = verifyWithSet(fresh, kid, name, tok)
		}
	}
	return err
}

// refresher is a jwks.Source that can fetch its keys again on demand
// (jwks.Remote).
type refresher interface {
	Refresh(ctx context.Context) (*jwks.KeySet, error)
}

// verifyWithSet verifies tok's signature with the key of set that kid and
// alg name select. missed reports a token that a newer set might verify
// though this one names no new kid: one without kid that set has no key
// for, or one whose candidate keys do not verify it. One without kid that
// several keys could verify is refused, not missed.
func verifyWithSet(set *jwks.KeySet, kid, name string, tok *token) (missed bool, err error) {
	if set == nil {
		return false, fmt.Errorf("%w: unknown key: no key set", ErrSignature)
	}
	var candidates [4]jwks.Key
	n, sameKid := 0, 0
	for k := range set.All() {
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
		return false, fmt.Errorf("%w: unknown key: kid %q", ErrSignature, clip(kid))
	case kid != "" && n == 0:
		return false, fmt.Errorf("%w: algorithm %s not allowed for key %q", ErrSignature, name, clip(kid))
	case kid == "" && n == 0:
		return true, fmt.Errorf("%w: unknown key: none for %s", ErrSignature, name)
	case kid == "" && n > 1:
		return false, fmt.Errorf("%w: unknown key: token has no kid and several keys could verify %s", ErrSignature, name)
	}
	for _, k := range candidates[:n] {
		if err := verifySignature(k.Public(), name, tok); err == nil {
			return false, nil
		}
	}
	return true, fmt.Errorf("%w: signature does not verify (%s, kid %q)", ErrSignature, name, clip(kid))
}

// verifySignature checks the signature of a compact JWS whose header this
// package has already decoded and judged: jwx's building block verifies the
// signing input (header.payload) with key and alg. jws.VerifyCompactFast is
// not used because it re-reads the header and, since jwx v4, refuses any
// member beyond alg/typ/kid/cty, which real OPs' headers carry; and the
// signature was decoded once by parseJWS.
//
// RS256, RS384 and RS512 (RFC 7518 §3.3) with an RSA key go to crypto/rsa
// directly, the call jwx makes for them in the end: jwx's path there
// converts the key through an interface and hashes with a heap-allocated
// hash and digest, three allocations and a dispatch on every token, where
// the digest here stays on the stack. The other algorithms keep jwx's.
func verifySignature(key any, alg string, t *token) error {
	if pub, ok := key.(*rsa.PublicKey); ok {
		switch alg {
		case "RS256":
			d := sha256.Sum256(t.signingInput)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], t.sig)
		case "RS384":
			d := sha512.Sum384(t.signingInput)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA384, d[:], t.sig)
		case "RS512":
			d := sha512.Sum512(t.signingInput)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA512, d[:], t.sig)
		}
	}
	return jwsbb.Verify(key, alg, t.signingInput, t.sig)
}

var (
	rsaAlgs     = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	es256       = []string{"ES256"}
	es384       = []string{"ES384"}
	es512       = []string{"ES512"}
	ed25519Algs = []string{"EdDSA", "Ed25519"}
)

// signatureAlgs returns the algorithms k may verify by its type and curve,
// or nil when k's type does not sign. A KeySet holds signature keys only
// (jwks leaves out a use other than "sig" and key_ops without "verify"),
// converted once per fetch with RSA keys under 2048 or over 16,384 bits
// refused, so this costs no JWK work; a key set is immutable, so nothing
// here is cached that a Source's next set could leave stale.
func signatureAlgs(k jwks.Key) []string {
	switch pk := k.Public().(type) {
	case *rsa.PublicKey:
		return rsaAlgs
	case *ecdsa.PublicKey:
		switch pk.Curve.Params().Name {
		case "P-256":
			return es256
		case "P-384":
			return es384
		case "P-521":
			return es512
		}
	case ed25519.PublicKey:
		return ed25519Algs
	}
	return nil
}

// canVerify reports whether a key whose type allows algs may verify alg:
// it must also equal the JWK's alg member when it has one (RFC 8725 §3.1).
func canVerify(k jwks.Key, algs []string, alg string) bool {
	if a := k.Algorithm(); a != "" && a != alg {
		return false
	}
	return slices.Contains(algs, alg)
}
