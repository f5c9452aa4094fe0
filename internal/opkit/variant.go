package opkit

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/spec"
)

// ErrMinterIncomplete means a Variant needs something its Minter lacks,
// e.g. an RSA Key for hs256-rsa-public-key or Encryption for valid-jwe.
var ErrMinterIncomplete = errors.New("fakeop: minter lacks what the variant needs")

// Minter has what a variant needs to mint its token.
//
// An RP under test is configured with Issuer, Audience as its client ID,
// JWKS(Key.PublicJWK()) as the OP's keys and, for encrypted tokens,
// Encryption.PrivateJWKS(). OtherKey and OtherEncryption must be unknown to
// that RP.
type Minter struct {
	Key      *Key // the OP's current signing key, published in the RP's JWKS
	OtherKey *Key // a key not in the RP's JWKS (the attacker's)
	Issuer   string
	Audience string
	Now      time.Time
	Secret   []byte // the client secret, for the HS variants
	// Encryption is the RP's encryption key; only valid-jwe needs it.
	Encryption *EncryptionKey
	// OtherEncryption is a key the RP lacks; jwe-unknown-key generates a
	// fresh one like Encryption when nil.
	OtherEncryption *EncryptionKey
	// AttackerJWKSURL is what the jku and x5u variants point at; default
	// "https://attacker.example/jwks.json". An OP from New or NewServer
	// serves OtherKey there, so an RP that wrongly follows jku would
	// find a key that verifies the token.
	AttackerJWKSURL string
}

// NewMinter returns a Minter with fresh keys (RS256 "op-key-1" and
// "attacker-key", an RSA-OAEP-256 encryption key "rp-enc-1") and a random
// 32-byte client secret: enough for every variant.
func NewMinter(issuer, audience string, now time.Time) (Minter, error) {
	key, err := GenerateKey("RS256", "op-key-1")
	if err != nil {
		return Minter{}, err
	}
	other, err := GenerateKey("RS256", "attacker-key")
	if err != nil {
		return Minter{}, err
	}
	enc, err := GenerateEncryptionKey("rp-enc-1")
	if err != nil {
		return Minter{}, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return Minter{
		Key: key, OtherKey: other, Issuer: issuer, Audience: audience, Now: now,
		Secret: secret, Encryption: enc,
	}, nil
}

// Token returns the valid logout token every variant starts from.
func (m Minter) Token() *Token { return NewLogoutToken(m.Issuer, m.Audience, m.Now) }

func (m Minter) attackerURL() string {
	if m.AttackerJWKSURL != "" {
		return m.AttackerJWKSURL
	}
	return "https://attacker.example/jwks.json"
}

// Variant is a named logout token, invalid or unusual, for tests and for
// `bclogout send --variant NAME`.
type Variant struct {
	Name  string // stable, kebab-case, e.g. "alg-none"
	Doc   string // one line: what is wrong, or what is unusual
	Valid bool   // true for the interop variants an RP MUST accept
	Mint  func(m Minter) (string, error)
}

// Variants returns every variant: the valid ones first, then the invalid
// ones in the order of the validation steps of §2.6. The list and the names
// are stable; new variants are only ever added.
func Variants() []Variant {
	return []Variant{
		// Valid: what deployed OPs send (Back-Channel Logout §2.4 as Keycloak,
		// Hydra, node oidc-provider, Dex and others implement it).
		{"valid", "a plain valid logout token, signed by Key", true, claimsVariant(nil)},
		{"valid-typ-jwt", `typ "JWT", as Keycloak (older), Hydra, ZITADEL and Janssen send`, true, headerVariant("typ", "JWT")},
		{"valid-no-typ", "no typ header, as Dex, PingAM and the OpenID conformance suite send", true, headerVariant("typ", nil)},
		{"valid-typ-application-logout+jwt", `typ "application/logout+jwt", the long form of the media type`, true, headerVariant("typ", "application/logout+jwt")},
		{"valid-no-exp", "no exp, as Ory Hydra sends (iat max age bounds its life)", true, claimsVariant(func(m Minter, c map[string]any) { delete(c, "exp") })},
		{"valid-sub-only", "sub without sid", true, claimsVariant(func(m Minter, c map[string]any) { delete(c, "sid") })},
		{"valid-sid-only", "sid without sub, as Ory Hydra sends", true, claimsVariant(func(m Minter, c map[string]any) { delete(c, "sub") })},
		{"valid-aud-array", "aud as a one-element array, as Hydra, ZITADEL and Authelia send", true, claimsVariant(func(m Minter, c map[string]any) { c["aud"] = []any{m.Audience} })},
		{"valid-keycloak", `Keycloak's form: payload typ "Logout", events also holds "revoke_offline_access": true`, true, mintKeycloak},
		{"valid-nbf", "nbf present (= iat), as Duende IdentityServer sends", true, claimsVariant(func(m Minter, c map[string]any) { c["nbf"] = m.Now.Unix() })},
		{"valid-key-without-alg", "a plain valid token; use it with an RP whose JWKS is JWKS(Key.PublicJWKWithoutAlg()), as Entra ID publishes keys", true, claimsVariant(nil)},
		{"valid-jwe", "nested JWT: the valid token encrypted to Minter.Encryption (the RP's key)", true, mintValidJWE},

		// Step 2 of §2.6: the signature and the header (RFC 8725).
		{"alg-none", `alg "none" with an empty signature`, false, mintNone("none")},
		{"alg-none-uppercase", `alg "None" with an empty signature, for case-insensitive alg lookups`, false, mintNone("None")},
		{"hs256-rsa-public-key", "HS256 keyed with the PEM of Key's RSA public key (algorithm confusion)", false, mintHSWithPublicKey(true)},
		{"hs256-rsa-public-key-der", "HS256 keyed with the DER of Key's RSA public key (algorithm confusion)", false, mintHSWithPublicKey(false)},
		{"ps256-on-rs256-key", "PS256 signature by Key whose JWK says alg RS256 (a JWK's alg binds its key)", false, mintPS256OnRS256},
		{"alg-not-allowed", "signed by a fresh key under Key's kid with an alg the RP does not allow (ES512, or ES256 when Key is ES512)", false, mintAlgNotAllowed},
		{"tampered-payload", "the valid token with sub changed after signing", false, validThen(Tamper)},
		{"unknown-kid", "signed by OtherKey, whose kid is not in the RP's JWKS", false, otherKeyVariant(nil)},
		{"bad-signature", "the valid token with one signature byte flipped", false, mintBadSignature},
		{"jku", "signed by OtherKey with a jku header pointing at OtherKey's JWKS", false, otherKeyVariant(func(m Minter, h map[string]any) { h["jku"] = m.attackerURL() })},
		{"x5u", "signed by OtherKey with an x5u header pointing at the attacker", false, otherKeyVariant(func(m Minter, h map[string]any) { h["x5u"] = strings.TrimSuffix(m.attackerURL(), ".json") + ".pem" })},
		{"embedded-jwk", "signed by OtherKey with its public key in the jwk header", false, otherKeyVariant(func(m Minter, h map[string]any) { h["jwk"] = m.OtherKey.PublicJWK() })},
		{"x5c", "signed by OtherKey with a self-signed certificate for it in the x5c header", false, mintX5C},
		{"crit-unknown", "signed by Key, crit names an extension no RP understands", false, headerVariant("crit", []any{"urn:example:unknown"}, "urn:example:unknown", true)},
		{"typ-at+jwt", `typ "at+jwt": an access token (RFC 9068), not a logout token`, false, headerVariant("typ", "at+jwt")},
		{"typ-secevent+jwt", `typ "secevent+jwt": a generic SET (RFC 8417), not a logout token`, false, headerVariant("typ", "secevent+jwt")},

		// Step 3: iss, aud, iat, exp.
		{"wrong-iss", "iss of another issuer", false, claimsVariant(func(m Minter, c map[string]any) { c["iss"] = "https://wrong-issuer.example" })},
		{"iss-trailing-slash", "iss differs from the issuer by a trailing slash", false, claimsVariant(func(m Minter, c map[string]any) { c["iss"] = toggleSlash(m.Issuer) })},
		{"wrong-aud", "aud of another client", false, claimsVariant(func(m Minter, c map[string]any) { c["aud"] = "some-other-client" })},
		{"no-aud", "no aud", false, deleteClaim("aud")},
		{"no-iat", "no iat", false, deleteClaim("iat")},
		{"iat-future", "iat 10 minutes ahead (exp 12 minutes ahead)", false, claimsVariant(func(m Minter, c map[string]any) {
			c["iat"] = m.Now.Add(10 * time.Minute).Unix()
			c["exp"] = m.Now.Add(12 * time.Minute).Unix()
		})},
		{"iat-too-old", "iat an hour ago, beyond any max age; exp still ahead so only iat fails", false, claimsVariant(func(m Minter, c map[string]any) { c["iat"] = m.Now.Add(-time.Hour).Unix() })},
		{"iat-string", "iat as a JSON string of digits", false, claimsVariant(func(m Minter, c map[string]any) { c["iat"] = fmt.Sprint(m.Now.Unix()) })},
		{"expired", "exp 2 minutes ago, beyond the skew; iat 3 minutes ago, within max age", false, claimsVariant(func(m Minter, c map[string]any) {
			c["iat"] = m.Now.Add(-3 * time.Minute).Unix()
			c["exp"] = m.Now.Add(-2 * time.Minute).Unix()
		})},
		{"exp-string", "exp as a JSON string of digits", false, claimsVariant(func(m Minter, c map[string]any) { c["exp"] = fmt.Sprint(m.Now.Add(logoutTokenLifetime).Unix()) })},

		// Step 7: jti, the replay key.
		{"no-jti", "no jti", false, deleteClaim("jti")},
		{"empty-jti", `jti ""`, false, setClaim("jti", "")},
		{"jti-number", "jti as a JSON number", false, setClaim("jti", 12345)},

		// Step 4: sub and sid.
		{"no-sub-no-sid", "neither sub nor sid", false, claimsVariant(func(m Minter, c map[string]any) { delete(c, "sub"); delete(c, "sid") })},
		{"empty-sub", `sub "" (sid present)`, false, setClaim("sub", "")},
		{"empty-sid", `sid "" (sub present)`, false, setClaim("sid", "")},
		{"sub-number", "sub as a JSON number (sid present)", false, setClaim("sub", 12345)},

		// Step 5: events.
		{"no-events", "no events", false, deleteClaim("events")},
		{"events-array", "events is an array holding the event URI", false, setClaim("events", []any{spec.BackchannelLogoutEvent})},
		{"events-string", "events is the event URI as a string", false, setClaim("events", spec.BackchannelLogoutEvent)},
		{"events-missing-member", "events is an object without the back-channel logout member", false, setClaim("events", map[string]any{"http://schemas.openid.net/event/other": map[string]any{}})},
		{"events-member-string", "the back-channel logout member of events is a string, not an object", false, setClaim("events", map[string]any{spec.BackchannelLogoutEvent: "logout"})},

		// Step 6: nonce.
		{"nonce", "carries a nonce, like an ID token", false, setClaim("nonce", "n-0S6_WzA2Mj")},
		{"nonce-empty", `carries nonce "" (forbidden whatever its value)`, false, setClaim("nonce", "")},

		// Not a token at all.
		{"not-a-jwt", "a string that is no JWT", false, constVariant("this-is-not-a-jwt")},
		{"two-parts", "header and payload without a signature part", false, validThen(func(s string) string {
			return s[:strings.LastIndexByte(s, '.')]
		})},
		{"bad-base64", "a payload segment with characters outside base64url", false, validThen(func(s string) string {
			p := strings.Split(s, ".")
			return p[0] + ".eyJ%%%+/=." + p[2]
		})},
		{"header-not-json", "a header segment that decodes to text, not JSON (signed by Key)", false, rawVariant([]byte("not json"), nil)},
		{"payload-not-json", "a payload segment that decodes to text, not JSON (signed by Key)", false, rawVariant(nil, []byte("not json"))},
		{"payload-array", "a payload that is a JSON array, not an object (signed by Key)", false, rawVariant(nil, []byte(`[{"iss":"x"}]`))},

		// Step 1: decryption.
		{"jwe-unknown-key", "the valid token encrypted to OtherEncryption, a key the RP lacks", false, mintJWEUnknownKey},
	}
}

// LookupVariant returns the variant called name.
func LookupVariant(name string) (Variant, bool) {
	for _, v := range Variants() {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

func claimsVariant(edit func(m Minter, c map[string]any)) func(Minter) (string, error) {
	return func(m Minter) (string, error) {
		t := m.Token()
		if edit != nil {
			edit(m, t.Claims)
		}
		return t.Sign(m.Key)
	}
}

func setClaim(name string, v any) func(Minter) (string, error) {
	return claimsVariant(func(_ Minter, c map[string]any) { c[name] = v })
}

func deleteClaim(name string) func(Minter) (string, error) {
	return claimsVariant(func(_ Minter, c map[string]any) { delete(c, name) })
}

// headerVariant sets header members in name, value pairs; a nil value
// deletes the member.
func headerVariant(kv ...any) func(Minter) (string, error) {
	return func(m Minter) (string, error) {
		t := m.Token()
		for i := 0; i+1 < len(kv); i += 2 {
			name := kv[i].(string)
			if kv[i+1] == nil {
				delete(t.Header, name)
			} else {
				t.Header[name] = kv[i+1]
			}
		}
		return t.Sign(m.Key)
	}
}

func otherKeyVariant(edit func(m Minter, h map[string]any)) func(Minter) (string, error) {
	return func(m Minter) (string, error) {
		if m.OtherKey == nil {
			return "", fmt.Errorf("%w: OtherKey", ErrMinterIncomplete)
		}
		t := m.Token()
		if edit != nil {
			edit(m, t.Header)
		}
		return t.Sign(m.OtherKey)
	}
}

// validThen mints the valid token and rewrites its compact form.
func validThen(rewrite func(string) string) func(Minter) (string, error) {
	return func(m Minter) (string, error) {
		s, err := m.Token().Sign(m.Key)
		if err != nil {
			return "", err
		}
		return rewrite(s), nil
	}
}

func constVariant(s string) func(Minter) (string, error) {
	return func(Minter) (string, error) { return s, nil }
}

// rawVariant signs with Key a header or payload given as raw bytes, so only
// the JSON decoding fails, never the signature. A nil segment is the one of
// the valid token.
func rawVariant(header, payload []byte) func(Minter) (string, error) {
	return func(m Minter) (string, error) {
		if m.Key == nil {
			return "", fmt.Errorf("%w: Key", ErrMinterIncomplete)
		}
		t := m.Token()
		t.Header["alg"] = m.Key.Alg
		if m.Key.ID != "" {
			t.Header["kid"] = m.Key.ID
		}
		valid, err := signingInput(t.Header, t.Claims)
		if err != nil {
			return "", err
		}
		h, p, _ := strings.Cut(valid, ".")
		if header != nil {
			h = b64(header)
		}
		if payload != nil {
			p = b64(payload)
		}
		return signInput(h+"."+p, m.Key)
	}
}

func mintKeycloak(m Minter) (string, error) {
	t := m.Token()
	t.Claims["typ"] = "Logout"
	t.Claims["events"] = map[string]any{
		spec.BackchannelLogoutEvent: map[string]any{},
		"revoke_offline_access":     true,
	}
	return t.Sign(m.Key)
}

func mintValidJWE(m Minter) (string, error) {
	if m.Encryption == nil {
		return "", fmt.Errorf("%w: Encryption", ErrMinterIncomplete)
	}
	s, err := m.Token().Sign(m.Key)
	if err != nil {
		return "", err
	}
	return Encrypt(s, m.Encryption)
}

func mintJWEUnknownKey(m Minter) (string, error) {
	to := m.OtherEncryption
	if to == nil {
		alg, enc := "RSA-OAEP-256", "A256GCM"
		if m.Encryption != nil {
			alg, enc = m.Encryption.Alg, m.Encryption.Enc
		}
		var err error
		if to, err = GenerateEncryptionKeyAlg(alg, enc, "unknown-enc-key"); err != nil {
			return "", err
		}
	}
	s, err := m.Token().Sign(m.Key)
	if err != nil {
		return "", err
	}
	return Encrypt(s, to)
}

func mintNone(alg string) func(Minter) (string, error) {
	return func(m Minter) (string, error) {
		t := m.Token()
		t.Header["alg"] = alg
		if s := t.Unsigned(); s != "" {
			return s, nil
		}
		return "", ErrEncode
	}
}

// mintHSWithPublicKey is the classic attack on verifiers that pick the
// algorithm from the token: the RSA public key, which anyone can fetch from
// the JWKS, used as an HMAC secret.
func mintHSWithPublicKey(asPEM bool) func(Minter) (string, error) {
	return func(m Minter) (string, error) {
		if m.Key == nil {
			return "", fmt.Errorf("%w: Key", ErrMinterIncomplete)
		}
		pub, ok := m.Key.Signer.Public().(*rsa.PublicKey)
		if !ok {
			return "", fmt.Errorf("%w: an RSA Key", ErrMinterIncomplete)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", fmt.Errorf("fakeop: marshal public key: %w", err)
		}
		secret := der
		if asPEM {
			secret = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}
		t := m.Token()
		if m.Key.ID != "" {
			t.Header["kid"] = m.Key.ID
		}
		return t.SignHMAC("HS256", secret)
	}
}

func mintPS256OnRS256(m Minter) (string, error) {
	if m.Key == nil || !strings.HasPrefix(m.Key.Alg, "RS") {
		return "", fmt.Errorf("%w: an RS* Key", ErrMinterIncomplete)
	}
	ps := &Key{ID: m.Key.ID, Alg: "PS256", Signer: m.Key.Signer}
	return m.Token().Sign(ps)
}

func mintAlgNotAllowed(m Minter) (string, error) {
	if m.Key == nil {
		return "", fmt.Errorf("%w: Key", ErrMinterIncomplete)
	}
	alg := "ES512"
	if m.Key.Alg == alg {
		alg = "ES256"
	}
	k, err := GenerateKey(alg, m.Key.ID)
	if err != nil {
		return "", err
	}
	return m.Token().Sign(k)
}

func mintBadSignature(m Minter) (string, error) {
	s, err := m.Token().Sign(m.Key)
	if err != nil {
		return "", err
	}
	// Flip a decoded byte: flipping the last character could change only
	// the padding bits a lenient decoder ignores.
	i := strings.LastIndexByte(s, '.')
	sig, err := base64.RawURLEncoding.DecodeString(s[i+1:])
	if err != nil {
		return "", fmt.Errorf("fakeop: decode signature: %w", err)
	}
	sig[0] ^= 0x01
	return s[:i+1] + b64(sig), nil
}

func mintX5C(m Minter) (string, error) {
	if m.OtherKey == nil {
		return "", fmt.Errorf("%w: OtherKey", ErrMinterIncomplete)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    m.Now.Add(-time.Hour),
		NotAfter:     m.Now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, m.OtherKey.Signer.Public(), m.OtherKey.Signer)
	if err != nil {
		return "", fmt.Errorf("fakeop: self-signed certificate: %w", err)
	}
	t := m.Token()
	// x5c holds standard (not URL-safe) base64 DER (RFC 7515 §4.1.6).
	t.Header["x5c"] = []any{base64.StdEncoding.EncodeToString(cert)}
	return t.Sign(m.OtherKey)
}

func toggleSlash(iss string) string {
	if strings.HasSuffix(iss, "/") {
		return strings.TrimSuffix(iss, "/")
	}
	return iss + "/"
}
