package opkit_test

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newMinter(t *testing.T) opkit.Minter {
	t.Helper()
	m, err := opkit.NewMinter("https://op.example", "client-1", now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func parseSet(t *testing.T, b []byte) jwk.Set {
	t.Helper()
	set, err := jwk.Parse(b)
	if err != nil {
		t.Fatalf("jwx parses %s: %v", b, err)
	}
	return set
}

// verifyJWX verifies with jwx, an implementation independent of fakeop's.
func verifyJWX(t *testing.T, set jwk.Set, token string) map[string]any {
	t.Helper()
	payload := verifyJWXRaw(t, set, token)
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func verifyJWXRaw(t *testing.T, set jwk.Set, token string, opts ...jws.VerifyOption) []byte {
	t.Helper()
	payload, err := jws.Verify([]byte(token), append([]jws.VerifyOption{jws.WithKeySet(set, jws.WithInferAlgorithmFromKey(true))}, opts...)...)
	if err != nil {
		t.Fatalf("jwx rejects the signature: %v", err)
	}
	return payload
}

func TestJWXVerifiesEveryAlg(t *testing.T) {
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k, err := opkit.GenerateKey(alg, "kid-"+alg)
			if err != nil {
				t.Fatal(err)
			}
			s, err := opkit.NewLogoutToken("https://op.example", "client-1", now).Sign(k)
			if err != nil {
				t.Fatal(err)
			}
			claims := verifyJWX(t, parseSet(t, opkit.JWKS(k.PublicJWK())), s)
			if claims["aud"] != "client-1" {
				t.Errorf("claims = %v", claims)
			}
			// A JWK without alg must still carry everything to verify.
			verifyJWX(t, parseSet(t, opkit.JWKS(k.PublicJWKWithoutAlg())), s)
		})
	}
}

func TestJWXDecryptsEveryAlg(t *testing.T) {
	for _, tt := range []struct{ alg, enc string }{
		{"RSA-OAEP-256", "A256GCM"},
		{"RSA-OAEP", "A128GCM"},
		{"ECDH-ES", "A256GCM"},
		{"ECDH-ES", "A192GCM"},
	} {
		t.Run(tt.alg+"+"+tt.enc, func(t *testing.T) {
			k, err := opkit.GenerateEncryptionKeyAlg(tt.alg, tt.enc, "enc-1")
			if err != nil {
				t.Fatal(err)
			}
			jwe1, err := opkit.Encrypt("inner.jws.token", k)
			if err != nil {
				t.Fatal(err)
			}
			h := decodeHeader(t, jwe1)
			if h["cty"] != "JWT" || h["kid"] != "enc-1" || h["alg"] != tt.alg || h["enc"] != tt.enc {
				t.Errorf("header = %v", h)
			}
			plain, err := jwe.Decrypt([]byte(jwe1), jwe.WithKeySet(parseSet(t, k.PrivateJWKS())))
			if err != nil {
				t.Fatalf("jwx cannot decrypt: %v", err)
			}
			if string(plain) != "inner.jws.token" {
				t.Errorf("plaintext = %q", plain)
			}
			if _, err := jwe.Decrypt([]byte(opkit.Tamper(jwe1)), jwe.WithKeySet(parseSet(t, k.PrivateJWKS()))); err == nil {
				t.Error("jwx decrypts a tampered JWE")
			}
			if pub := parseSet(t, opkit.JWKS(k.PublicJWK())); pub.Len() != 1 {
				t.Error("public JWK does not parse")
			}
		})
	}
}

func decodeHeader(t *testing.T, compact string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(compact, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVariantsCatalogue(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9+.]+)*$`)
	seen := map[string]bool{}
	for _, v := range opkit.Variants() {
		if !kebab.MatchString(v.Name) || seen[v.Name] || v.Doc == "" || v.Mint == nil {
			t.Errorf("variant %+v: bad name, duplicate, or missing doc/mint", v)
		}
		seen[v.Name] = true
		if got, ok := opkit.LookupVariant(v.Name); !ok || got.Name != v.Name {
			t.Errorf("LookupVariant(%q) = %v, %v", v.Name, got.Name, ok)
		}
	}
	if _, ok := opkit.LookupVariant("no-such-variant"); ok {
		t.Error("LookupVariant finds an unknown name")
	}
	required := strings.Fields(`alg-none alg-none-uppercase hs256-rsa-public-key ps256-on-rs256-key
		alg-not-allowed tampered-payload unknown-kid bad-signature jku x5u embedded-jwk x5c crit-unknown
		typ-at+jwt typ-secevent+jwt wrong-iss iss-trailing-slash wrong-aud no-aud no-iat iat-future
		iat-too-old iat-string expired exp-string no-jti empty-jti jti-number no-events events-array
		events-string events-missing-member events-member-string no-sub-no-sid empty-sub empty-sid
		sub-number nonce nonce-empty not-a-jwt two-parts bad-base64 header-not-json payload-not-json
		payload-array jwe-unknown-key valid valid-typ-jwt valid-no-typ valid-typ-application-logout+jwt
		valid-no-exp valid-sub-only valid-sid-only valid-aud-array valid-keycloak valid-key-without-alg
		valid-jwe`)
	for _, name := range required {
		if !seen[name] {
			t.Errorf("variant %q missing", name)
		}
	}
}

// TestVariantsMint mints every variant; valid ones must pass jwx's
// signature check (after decryption for valid-jwe), and the ones that
// claim to be signed by Key must carry a correct signature, so that the
// RP rejects them for the stated reason and not for a broken signature.
func TestVariantsMint(t *testing.T) {
	m := newMinter(t)
	set := parseSet(t, opkit.JWKS(m.Key.PublicJWK()))
	signedByKey := map[string]bool{
		"crit-unknown": true, "typ-at+jwt": true, "typ-secevent+jwt": true, "wrong-iss": true,
		"iss-trailing-slash": true, "wrong-aud": true, "no-aud": true, "no-iat": true, "iat-future": true,
		"iat-too-old": true, "iat-string": true, "expired": true, "exp-string": true, "no-jti": true,
		"empty-jti": true, "jti-number": true, "no-events": true, "events-array": true, "events-string": true,
		"events-missing-member": true, "events-member-string": true, "no-sub-no-sid": true,
		"empty-sub": true, "empty-sid": true, "sub-number": true, "nonce": true, "nonce-empty": true,
		"payload-not-json": true, "payload-array": true,
	}
	for _, v := range opkit.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			tok, err := v.Mint(m)
			if err != nil || tok == "" {
				t.Fatalf("mint: %q, %v", tok, err)
			}
			if v.Valid {
				if strings.Count(tok, ".") == 4 {
					plain, err := jwe.Decrypt([]byte(tok), jwe.WithKeySet(parseSet(t, m.Encryption.PrivateJWKS())))
					if err != nil {
						t.Fatalf("jwx cannot decrypt: %v", err)
					}
					tok = string(plain)
				}
				claims := verifyJWX(t, set, tok)
				if claims["iss"] != m.Issuer {
					t.Errorf("iss = %v", claims["iss"])
				}
				return
			}
			if signedByKey[v.Name] {
				// jwx v4 enforces crit: declaring the extension lets it
				// check the signature alone.
				verifyJWXRaw(t, set, tok, jws.WithCritExtension("urn:example:unknown"))
				return
			}
			if _, err := jws.Verify([]byte(tok), jws.WithKeySet(set, jws.WithInferAlgorithmFromKey(true))); err == nil {
				t.Error("jwx accepts an invalid variant's signature")
			}
		})
	}
}

func TestVariantSpecifics(t *testing.T) {
	m := newMinter(t)
	mint := func(name string) string {
		v, ok := opkit.LookupVariant(name)
		if !ok {
			t.Fatalf("no variant %q", name)
		}
		s, err := v.Mint(m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name   string
		member string
		want   any
	}{
		{"alg-none", "alg", "none"},
		{"alg-none-uppercase", "alg", "None"},
		{"hs256-rsa-public-key", "alg", "HS256"},
		{"hs256-rsa-public-key-der", "alg", "HS256"},
		{"ps256-on-rs256-key", "alg", "PS256"},
		{"alg-not-allowed", "alg", "ES512"},
		{"alg-not-allowed", "kid", m.Key.ID},
		{"unknown-kid", "kid", m.OtherKey.ID},
		{"jku", "jku", "https://attacker.example/jwks.json"},
		{"x5u", "x5u", "https://attacker.example/jwks.pem"},
		{"typ-at+jwt", "typ", "at+jwt"},
		{"valid-no-typ", "typ", nil},
		{"valid-jwe", "cty", "JWT"},
		{"jwe-unknown-key", "kid", "unknown-enc-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.member, func(t *testing.T) {
			if got := decodeHeader(t, mint(tt.name))[tt.member]; got != tt.want {
				t.Errorf("%s = %v, want %v", tt.member, got, tt.want)
			}
		})
	}
	h := decodeHeader(t, mint("embedded-jwk"))
	if jwkh, _ := h["jwk"].(map[string]any); jwkh["kid"] != m.OtherKey.ID {
		t.Errorf("jwk header = %v", h["jwk"])
	}
	if x5c, _ := decodeHeader(t, mint("x5c"))["x5c"].([]any); len(x5c) != 1 {
		t.Errorf("x5c = %v", x5c)
	}
	if got := strings.Count(mint("two-parts"), "."); got != 1 {
		t.Errorf("two-parts has %d dots", got)
	}
}
