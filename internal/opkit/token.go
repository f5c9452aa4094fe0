package opkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-384 and SHA-512 for crypto.Hash
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/spec"
)

// ErrEncode means a header or claim set could not be encoded as JSON,
// which only happens when a test put a non-JSON value into it.
var ErrEncode = errors.New("fakeop: cannot encode token")

// logoutTokenLifetime is what Keycloak and node oidc-provider use.
const logoutTokenLifetime = 2 * time.Minute

// Token is a logout token under construction. Header and Claims are plain
// JSON maps so a test can set, change or delete any member, including ones
// no valid token would carry.
type Token struct {
	Header map[string]any
	Claims map[string]any
}

// NewLogoutToken returns a valid logout token: header {"typ":"logout+jwt"};
// claims iss, aud (a string), iat now, exp two minutes later, a random
// 128-bit jti, sub "user-1", a random sid and the back-channel logout event.
func NewLogoutToken(issuer, audience string, now time.Time) *Token {
	return &Token{
		Header: map[string]any{"typ": "logout+jwt"},
		Claims: map[string]any{
			"iss":    issuer,
			"aud":    audience,
			"iat":    now.Unix(),
			"exp":    now.Add(logoutTokenLifetime).Unix(),
			"jti":    randomID(),
			"sub":    "user-1",
			"sid":    randomID(),
			"events": map[string]any{spec.BackchannelLogoutEvent: map[string]any{}},
		},
	}
}

// Clone returns a deep copy of t, so a variant can change the copy freely.
func (t *Token) Clone() *Token {
	return &Token{
		Header: cloneMap(t.Header),
		Claims: cloneMap(t.Claims),
	}
}

// Sign returns t as a JWS compact serialization signed by k with k.Alg. The
// header's alg and kid come from k unless t.Header already sets them, so a
// test can make the header lie about how the token was signed.
func (t *Token) Sign(k *Key) (string, error) {
	if k == nil || k.Signer == nil {
		return "", fmt.Errorf("%w: no key", ErrKeyMismatch)
	}
	h := cloneMap(t.Header)
	setDefault(h, "alg", k.Alg)
	if k.ID != "" {
		setDefault(h, "kid", k.ID)
	}
	input, err := signingInput(h, t.Claims)
	if err != nil {
		return "", err
	}
	return signInput(input, k)
}

// SignHMAC returns t signed with HS256, HS384 or HS512 keyed with secret,
// whatever its bytes: a client secret, or an RSA public key for the classic
// algorithm confusion attack. The header's alg defaults to alg.
func (t *Token) SignHMAC(alg string, secret []byte) (string, error) {
	h := cloneMap(t.Header)
	setDefault(h, "alg", alg)
	input, err := signingInput(h, t.Claims)
	if err != nil {
		return "", err
	}
	mac, err := hmacSign(alg, secret, input)
	if err != nil {
		return "", err
	}
	return input + "." + b64(mac), nil
}

// Unsigned returns t with alg "none" (unless t.Header sets another alg) and
// an empty signature. It returns "" only if t holds a non-JSON value.
func (t *Token) Unsigned() string {
	h := cloneMap(t.Header)
	setDefault(h, "alg", "none")
	input, err := signingInput(h, t.Claims)
	if err != nil {
		return ""
	}
	return input + "."
}

// Tamper changes the payload of a compact JWS while keeping its header and
// signature: it appends "-tampered" to sub (or sets sub when absent), so the
// result parses like a good token and only the signature check catches it.
// A payload that is not a JSON object, and the ciphertext of a JWE, get one
// byte flipped instead.
func Tamper(compact string) string {
	parts := strings.Split(compact, ".")
	i := 1 // JWS payload
	if len(parts) == 5 {
		i = 3 // JWE ciphertext
	}
	if len(parts) < 2 {
		return compact + "x"
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil || len(raw) == 0 {
		parts[i] += "A"
		return strings.Join(parts, ".")
	}
	var claims map[string]any
	if i == 1 && json.Unmarshal(raw, &claims) == nil && claims != nil {
		if sub, ok := claims["sub"].(string); ok {
			claims["sub"] = sub + "-tampered"
		} else {
			claims["sub"] = "tampered"
		}
		if b, err := json.Marshal(claims); err == nil {
			parts[i] = b64(b)
			return strings.Join(parts, ".")
		}
	}
	raw[len(raw)/2] ^= 0x01
	parts[i] = b64(raw)
	return strings.Join(parts, ".")
}

// SignInput signs an encoded JWS signing input (BASE64URL(header) "."
// BASE64URL(payload), RFC 7515 §5.1) with alg and key and returns the
// compact serialization. The segments need not hold valid JSON, so a test
// of a verifier's parser can sign the headers and payloads no JOSE library
// would produce (duplicate members, other cases, invalid UTF-8). key is a
// crypto.Signer for RS*, PS*, ES* and EdDSA and the secret ([]byte) for
// HS*; alg "none" gives an empty signature.
func SignInput(input, alg string, key any) (string, error) {
	switch {
	case alg == "none":
		return input + ".", nil
	case strings.HasPrefix(alg, "HS"):
		secret, ok := key.([]byte)
		if !ok {
			return "", fmt.Errorf("%w: %s needs a []byte secret, got %T", ErrKeyMismatch, alg, key)
		}
		mac, err := hmacSign(alg, secret, input)
		if err != nil {
			return "", err
		}
		return input + "." + b64(mac), nil
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return "", fmt.Errorf("%w: %s needs a crypto.Signer, got %T", ErrKeyMismatch, alg, key)
	}
	return signInput(input, &Key{Alg: alg, Signer: signer})
}

// signingInput is BASE64URL(header) "." BASE64URL(claims) (RFC 7515 §5.1).
func signingInput(header, claims map[string]any) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("%w: header: %w", ErrEncode, err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("%w: claims: %w", ErrEncode, err)
	}
	return b64(hb) + "." + b64(cb), nil
}

// signInput signs an already encoded signing input with k.Alg and returns
// the compact serialization. Raw inputs let a variant sign segments that
// are not JSON at all.
func signInput(input string, k *Key) (string, error) {
	sig, err := signBytes(k, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func hashFor(alg string) (crypto.Hash, bool) {
	switch {
	case strings.HasSuffix(alg, "256"):
		return crypto.SHA256, true
	case strings.HasSuffix(alg, "384"):
		return crypto.SHA384, true
	case strings.HasSuffix(alg, "512"):
		return crypto.SHA512, true
	}
	return 0, false
}

func hmacSign(alg string, secret []byte, input string) ([]byte, error) {
	h, ok := hashFor(alg)
	if !ok || !strings.HasPrefix(alg, "HS") || len(alg) != 5 {
		return nil, fmt.Errorf("%w: %q is not an HMAC alg", ErrUnsupportedAlg, alg)
	}
	m := hmac.New(h.New, secret)
	m.Write([]byte(input))
	return m.Sum(nil), nil
}

// curveFor is the curve each ES alg requires (RFC 7518 §3.4).
func curveFor(alg string) string {
	switch alg {
	case "ES256":
		return "P-256"
	case "ES384":
		return "P-384"
	}
	return "P-521"
}

func signBytes(k *Key, msg []byte) ([]byte, error) {
	if k == nil || k.Signer == nil {
		return nil, fmt.Errorf("%w: no key", ErrKeyMismatch)
	}
	pub := k.Signer.Public()
	switch alg := k.Alg; alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		if _, ok := pub.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: %s needs an RSA key, got %T", ErrKeyMismatch, alg, pub)
		}
		h, _ := hashFor(alg)
		d := digest(h, msg)
		var opts crypto.SignerOpts = h
		if alg[0] == 'P' {
			opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
		}
		sig, err := k.Signer.Sign(rand.Reader, d, opts)
		if err != nil {
			return nil, fmt.Errorf("fakeop: sign %s: %w", alg, err)
		}
		return sig, nil
	case "ES256", "ES384", "ES512":
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok || p.Curve.Params().Name != curveFor(alg) {
			return nil, fmt.Errorf("%w: %s needs a %s key", ErrKeyMismatch, alg, curveFor(alg))
		}
		h, _ := hashFor(alg)
		der, err := k.Signer.Sign(rand.Reader, digest(h, msg), h)
		if err != nil {
			return nil, fmt.Errorf("fakeop: sign %s: %w", alg, err)
		}
		return ecdsaRaw(der, (p.Curve.Params().BitSize+7)/8)
	case "EdDSA":
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return nil, fmt.Errorf("%w: EdDSA needs an Ed25519 key, got %T", ErrKeyMismatch, pub)
		}
		sig, err := k.Signer.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("fakeop: sign EdDSA: %w", err)
		}
		return sig, nil
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
	}
}

func digest(h crypto.Hash, msg []byte) []byte {
	w := h.New()
	w.Write(msg)
	return w.Sum(nil)
}

// ecdsaRaw turns the ASN.1 signature crypto.Signer returns into the fixed
// size R || S that JWS uses (RFC 7518 §3.4).
func ecdsaRaw(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, fmt.Errorf("fakeop: ecdsa signature: %w", err)
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

// randomID is 128 random bits, base64url: unguessable and unique enough
// for jti and sid.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b64(b)
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	}
	return v
}
