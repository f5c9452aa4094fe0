package rp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

const (
	testIssuer   = "https://op.example.com"
	testClientID = "client-1"
)

// testNow is the frozen clock of every test.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

type testKeys struct {
	rsa, rsa2, rsaSmall *rsa.PrivateKey
	ec                  *ecdsa.PrivateKey
	ed                  ed25519.PrivateKey
	enc, enc2           *rsa.PrivateKey
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

// keys returns keys generated once per test binary: RSA generation is the
// slowest part of the suite.
func keys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		must := func(k *rsa.PrivateKey, err error) *rsa.PrivateKey {
			if err != nil {
				panic(err)
			}
			return k
		}
		keysVal.rsa = must(rsa.GenerateKey(rand.Reader, 2048))
		keysVal.rsa2 = must(rsa.GenerateKey(rand.Reader, 2048))
		keysVal.rsaSmall = must(rsa.GenerateKey(rand.Reader, 1024))
		keysVal.enc = must(rsa.GenerateKey(rand.Reader, 2048))
		keysVal.enc2 = must(rsa.GenerateKey(rand.Reader, 2048))
		keysVal.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, keysVal.ed, _ = ed25519.GenerateKey(rand.Reader)
	})
	return &keysVal
}

// pubJWK converts a public key to a JWK with the given members set.
func pubJWK(t testing.TB, pub any, members map[string]any) jwk.Key {
	t.Helper()
	k, err := jwk.Import(pub)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range members {
		if err := k.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func keySet(t testing.TB, ks ...jwk.Key) jwk.Set {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range ks {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

// staticSource is a jwks.Source over a jwx set that a test may change in
// place: each call hands out the set's current keys, converted by
// jwks.ParseKeySet (once per change).
type staticSource struct {
	set jwk.Set
	err error

	mu   sync.Mutex
	last []byte
	conv *jwks.KeySet
}

func (s *staticSource) Keys(context.Context, string) (*jwks.KeySet, error) {
	if s.err != nil {
		return nil, s.err
	}
	b, err := json.Marshal(s.set)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conv == nil || string(b) != string(s.last) {
		if s.conv, err = jwks.ParseKeySet(b); err != nil {
			return nil, err
		}
		s.last = b
	}
	return s.conv, nil
}

// staticKeys is a fixed jwks.KeySet of the JWKs, converted once.
func staticKeys(t testing.TB, ks ...jwk.Key) *jwks.KeySet {
	t.Helper()
	b, err := json.Marshal(keySet(t, ks...))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwks.ParseKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var _ jwks.Source = (*staticSource)(nil)

// defaultKeys are the OP's published keys: RSA "rsa-1" bound to RS256, EC
// "ec-1" without alg, Ed25519 "ed-1".
func defaultKeys(t testing.TB) []jwk.Key {
	k := keys(t)
	return []jwk.Key{
		pubJWK(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa-1", "alg": "RS256", "use": "sig"}),
		pubJWK(t, &k.ec.PublicKey, map[string]any{"kid": "ec-1"}),
		pubJWK(t, k.ed.Public(), map[string]any{"kid": "ed-1", "alg": "EdDSA"}),
	}
}

func defaultSet(t testing.TB) jwk.Set { return keySet(t, defaultKeys(t)...) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jsonB64(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// sign returns the signature of input made by fakeop, the project's one
// hand-written JWS signer, so tests can produce the tokens a JOSE library
// would refuse to make; alg "none" gives an empty signature.
func sign(t testing.TB, alg string, key any, input string) string {
	t.Helper()
	compact, err := opkit.SignInput(input, alg, key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return compact[len(input)+1:]
}

// tok describes a token to mint; mint fills in what is nil.
type tok struct {
	header map[string]any
	claims map[string]any
	alg    string // signing algorithm; defaults to header alg
	key    any
}

func baseHeader() map[string]any {
	return map[string]any{"alg": "RS256", "kid": "rsa-1", "typ": "logout+jwt"}
}

func baseClaims() map[string]any {
	return map[string]any{
		"iss":    testIssuer,
		"aud":    testClientID,
		"iat":    float64(testNow.Add(-10 * time.Second).Unix()),
		"exp":    float64(testNow.Add(2 * time.Minute).Unix()),
		"jti":    "jti-1",
		"sub":    "user-1",
		"sid":    "session-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
}

// mint returns a compact JWS of the base header and claims with the
// changes of edit applied.
func mint(t testing.TB, edit func(*tok)) string {
	t.Helper()
	k := keys(t)
	tk := tok{header: baseHeader(), claims: baseClaims(), key: k.rsa}
	if edit != nil {
		edit(&tk)
	}
	alg := tk.alg
	if alg == "" {
		alg, _ = tk.header["alg"].(string)
	}
	input := jsonB64(t, tk.header) + "." + jsonB64(t, tk.claims)
	return input + "." + sign(t, alg, tk.key, input)
}

func setHeader(name string, v any) func(*tok) {
	return func(tk *tok) {
		if v == nil {
			delete(tk.header, name)
			return
		}
		tk.header[name] = v
	}
}

func setClaim(name string, v any) func(*tok) {
	return func(tk *tok) {
		if v == nil {
			delete(tk.claims, name)
			return
		}
		tk.claims[name] = v
	}
}

func both(fs ...func(*tok)) func(*tok) {
	return func(tk *tok) {
		for _, f := range fs {
			f(tk)
		}
	}
}

// withClaims replaces all claims.
// encrypt wraps a JWS in a JWE for the RP's public key.
func encrypt(t testing.TB, jws string, alg jwa.KeyEncryptionAlgorithm, pub any, kid string) string {
	t.Helper()
	hdrs := jwe.NewHeaders()
	_ = hdrs.Set("cty", "JWT")
	if kid != "" {
		_ = hdrs.Set("kid", kid)
	}
	out, err := jwe.Encrypt([]byte(jws), jwe.WithKey(alg, pub), jwe.WithContentEncryption(jwa.A256GCM()), jwe.WithProtectedHeaders(hdrs))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// decryptionSet is the RP's private key set for encrypted tokens.
func decryptionSet(t testing.TB, priv *rsa.PrivateKey, kid string) *jwks.PrivateSet {
	t.Helper()
	k, err := jwk.Import(priv)
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set("kid", kid)
	_ = k.Set("use", "enc")
	b, err := json.Marshal(keySet(t, k))
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwks.ParsePrivateSet(b)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

type jwkSet = jwk.Set

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// rule is a rejection rule a test expects: the class sentinel the error
// must wrap and a fragment of the detail that tells the rule apart from the
// others of its class.
type rule struct {
	class  error
	detail string
}

func (r *rule) Error() string { return r.class.Error() + ": …" + r.detail + "…" }

// Unwrap makes a rule its class, for rejection.Reason.
func (r *rule) Unwrap() error { return r.class }

// The rules of the classes that hold several, by the detail they name.
var (
	errAlgorithm         error = &rule{rp.ErrSignature, "algorithm"}
	errUnknownKey        error = &rule{rp.ErrSignature, "unknown key"}
	errBadSignature      error = &rule{rp.ErrSignature, "signature does not verify"}
	errType              error = &rule{rp.ErrSignature, "typ"}
	errCritical          error = &rule{rp.ErrSignature, "critical header"}
	errForbiddenHeader   error = &rule{rp.ErrSignature, "forbidden header"}
	errIssuedAt          error = &rule{rp.ErrTime, "iat"}
	errExpired           error = &rule{rp.ErrTime, "exp"}
	errExpMissing        error = &rule{rp.ErrTime, "exp missing"}
	errJTI               error = &rule{rp.ErrClaims, "jti"}
	errEvents            error = &rule{rp.ErrClaims, "events"}
	errSubject           error = &rule{rp.ErrClaims, "subject"}
	errSessionIDRequired error = &rule{rp.ErrClaims, "sid required"}
	errNonce             error = &rule{rp.ErrClaims, "nonce"}
	errRequest           error = &rule{rejection.Request, "logout request"}
)

// isErr reports whether err is want: errors.Is, and for a rule, its class
// and its detail.
func isErr(err, want error) bool {
	if r, ok := want.(*rule); ok {
		return errors.Is(err, r.class) && err != nil && strings.Contains(err.Error(), r.detail)
	}
	return errors.Is(err, want)
}

// enderFunc adapts a function to sessionadapter.Ender.
type enderFunc func(ctx context.Context, l sessionadapter.Logout) (int, error)

func (f enderFunc) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	return f(ctx, l)
}
