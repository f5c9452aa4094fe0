package opkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/spec"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// decodeJWS splits a compact JWS and decodes its three parts.
func decodeJWS(t *testing.T, s string) (header, claims map[string]any, input string, sig []byte) {
	t.Helper()
	p := strings.Split(s, ".")
	if len(p) != 3 {
		t.Fatalf("want 3 parts, got %d in %q", len(p), s)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(p[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(p[2])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	return header, claims, p[0] + "." + p[1], sig
}

// verifyStd checks a JWS signature with the standard library only.
func verifyStd(alg string, pub crypto.PublicKey, input string, sig []byte) bool {
	h, _ := hashFor(alg)
	switch alg[:2] {
	case "RS":
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), h, digest(h, []byte(input)), sig) == nil
	case "PS":
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), h, digest(h, []byte(input)), sig,
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case "ES":
		n := len(sig) / 2
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), digest(h, []byte(input)), r, s)
	case "Ed":
		return ed25519.Verify(pub.(ed25519.PublicKey), []byte(input), sig)
	}
	return false
}

func TestSignEveryAlg(t *testing.T) {
	algs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	rsaKey, err := GenerateKey("RS256", "r")
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := &Key{ID: "k-" + alg, Alg: alg, Signer: rsaKey.Signer}
			if !strings.HasPrefix(alg, "RS") && !strings.HasPrefix(alg, "PS") {
				if k, err = GenerateKey(alg, "k-"+alg); err != nil {
					t.Fatal(err)
				}
			}
			s, err := NewLogoutToken("https://op.example", "client-1", testNow).Sign(k)
			if err != nil {
				t.Fatal(err)
			}
			h, _, input, sig := decodeJWS(t, s)
			if h["alg"] != alg || h["kid"] != k.ID || h["typ"] != "logout+jwt" {
				t.Errorf("header = %v", h)
			}
			if !verifyStd(alg, k.Signer.Public(), input, sig) {
				t.Error("signature does not verify")
			}
			if verifyStd(alg, k.Signer.Public(), Tamper(input)+"x", sig) {
				t.Error("signature verifies another input")
			}
		})
	}
}

func TestNewLogoutToken(t *testing.T) {
	a := NewLogoutToken("https://op.example", "client-1", testNow)
	b := NewLogoutToken("https://op.example", "client-1", testNow)
	c := a.Claims
	if c["iss"] != "https://op.example" || c["aud"] != "client-1" || c["sub"] != "user-1" {
		t.Errorf("claims = %v", c)
	}
	if c["iat"] != testNow.Unix() || c["exp"] != testNow.Add(2*time.Minute).Unix() {
		t.Errorf("iat/exp = %v/%v", c["iat"], c["exp"])
	}
	if c["jti"] == b.Claims["jti"] || c["sid"] == b.Claims["sid"] {
		t.Error("jti and sid must be random")
	}
	if jti, _ := c["jti"].(string); len(jti) != 22 { // 128 bits in base64url
		t.Errorf("jti %q is not 128 bits", jti)
	}
	ev, _ := c["events"].(map[string]any)
	if _, ok := ev[spec.BackchannelLogoutEvent].(map[string]any); !ok {
		t.Errorf("events = %v", c["events"])
	}
}

func TestSignKeepsHeaderLies(t *testing.T) {
	k, err := GenerateKey("ES256", "real")
	if err != nil {
		t.Fatal(err)
	}
	tok := NewLogoutToken("i", "a", testNow)
	tok.Header["alg"] = "RS256"
	tok.Header["kid"] = "liar"
	s, err := tok.Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	h, _, input, sig := decodeJWS(t, s)
	if h["alg"] != "RS256" || h["kid"] != "liar" {
		t.Errorf("header = %v", h)
	}
	if !verifyStd("ES256", k.Signer.Public(), input, sig) {
		t.Error("must still be signed with the key's alg")
	}
	if _, ok := tok.Header["typ"]; !ok || len(tok.Header) != 3 {
		t.Errorf("Sign changed the token's header: %v", tok.Header)
	}
}

func TestSignHMACAndUnsigned(t *testing.T) {
	tok := NewLogoutToken("i", "a", testNow)
	secret := []byte("s3cret")
	s, err := tok.SignHMAC("HS384", secret)
	if err != nil {
		t.Fatal(err)
	}
	h, _, input, sig := decodeJWS(t, s)
	if h["alg"] != "HS384" {
		t.Errorf("alg = %v", h["alg"])
	}
	mac, _ := hmacSign("HS384", secret, input)
	if !hmac.Equal(mac, sig) {
		t.Error("bad MAC")
	}
	u := tok.Unsigned()
	if !strings.HasSuffix(u, ".") || strings.Count(u, ".") != 2 {
		t.Fatalf("unsigned = %q", u)
	}
	h, _, _, _ = decodeJWS(t, u)
	if h["alg"] != "none" {
		t.Errorf("alg = %v", h["alg"])
	}
}

func TestErrors(t *testing.T) {
	ec, err := GenerateKey("ES256", "e")
	if err != nil {
		t.Fatal(err)
	}
	tok := NewLogoutToken("i", "a", testNow)
	tests := []struct {
		name    string
		run     func() error
		wantErr error
	}{
		{"generate unknown alg", func() error { _, err := GenerateKey("HS256", "x"); return err }, ErrUnsupportedAlg},
		{"generate none", func() error { _, err := GenerateKey("none", "x"); return err }, ErrUnsupportedAlg},
		{"sign with nil key", func() error { _, err := tok.Sign(nil); return err }, ErrKeyMismatch},
		{"RS256 with EC key", func() error { _, err := tok.Sign(&Key{Alg: "RS256", Signer: ec.Signer}); return err }, ErrKeyMismatch},
		{"ES384 with P-256 key", func() error { _, err := tok.Sign(&Key{Alg: "ES384", Signer: ec.Signer}); return err }, ErrKeyMismatch},
		{"EdDSA with EC key", func() error { _, err := tok.Sign(&Key{Alg: "EdDSA", Signer: ec.Signer}); return err }, ErrKeyMismatch},
		{"unknown alg on key", func() error { _, err := tok.Sign(&Key{Alg: "XX1", Signer: ec.Signer}); return err }, ErrUnsupportedAlg},
		{"HMAC with RS256", func() error { _, err := tok.SignHMAC("RS256", nil); return err }, ErrUnsupportedAlg},
		{"HMAC with HS1024", func() error { _, err := tok.SignHMAC("HS1024", nil); return err }, ErrUnsupportedAlg},
		{"unencodable claim", func() error {
			bad := tok.Clone()
			bad.Claims["c"] = make(chan int)
			_, err := bad.Sign(ec)
			return err
		}, ErrEncode},
		{"encrypt to nil", func() error { _, err := Encrypt("x", nil); return err }, ErrKeyMismatch},
		{"encryption enc unknown", func() error { _, err := GenerateEncryptionKeyAlg("RSA-OAEP-256", "A128CBC-HS256", "x"); return err }, ErrUnsupportedAlg},
		{"encryption alg unknown", func() error { _, err := GenerateEncryptionKeyAlg("RSA1_5", "A256GCM", "x"); return err }, ErrUnsupportedAlg},
		{"variant without encryption key", func() error {
			v, _ := LookupVariant("valid-jwe")
			_, err := v.Mint(Minter{Key: ec, Issuer: "i", Audience: "a", Now: testNow})
			return err
		}, ErrMinterIncomplete},
		{"hs256 variant with EC key", func() error {
			v, _ := LookupVariant("hs256-rsa-public-key")
			_, err := v.Mint(Minter{Key: ec, Issuer: "i", Audience: "a", Now: testNow})
			return err
		}, ErrMinterIncomplete},
		{"unknown-kid without other key", func() error {
			v, _ := LookupVariant("unknown-kid")
			_, err := v.Mint(Minter{Key: ec, Issuer: "i", Audience: "a", Now: testNow})
			return err
		}, ErrMinterIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	a := NewLogoutToken("i", "a", testNow)
	a.Claims["aud"] = []any{"a", "b"}
	b := a.Clone()
	b.Claims["events"].(map[string]any)["x"] = true
	b.Claims["aud"].([]any)[0] = "z"
	b.Header["typ"] = "JWT"
	if len(a.Claims["events"].(map[string]any)) != 1 || a.Claims["aud"].([]any)[0] != "a" || a.Header["typ"] != "logout+jwt" {
		t.Errorf("clone shares state: %v %v", a.Header, a.Claims)
	}
}

func TestTamper(t *testing.T) {
	k, err := GenerateKey("EdDSA", "e")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewLogoutToken("i", "a", testNow).Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	ts := Tamper(s)
	_, claims, input, sig := decodeJWS(t, ts)
	if claims["sub"] != "user-1-tampered" {
		t.Errorf("sub = %v", claims["sub"])
	}
	if strings.Split(ts, ".")[2] != strings.Split(s, ".")[2] {
		t.Error("signature changed")
	}
	if verifyStd("EdDSA", k.Signer.Public(), input, sig) {
		t.Error("tampered token still verifies")
	}
	for _, in := range []string{"", "a", "a.b", "a.!.c", "a.b.c.d.e"} {
		if Tamper(in) == in {
			t.Errorf("Tamper(%q) unchanged", in)
		}
	}
}

func TestJWKShapes(t *testing.T) {
	tests := []struct {
		alg  string
		want []string
	}{
		{"RS256", []string{"kty", "kid", "alg", "use", "n", "e"}},
		{"ES256", []string{"kty", "kid", "alg", "use", "crv", "x", "y"}},
		{"ES512", []string{"kty", "kid", "alg", "use", "crv", "x", "y"}},
		{"EdDSA", []string{"kty", "kid", "alg", "use", "crv", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			k, err := GenerateKey(tt.alg, "kid-1")
			if err != nil {
				t.Fatal(err)
			}
			j := k.PublicJWK()
			if len(j) != len(tt.want) {
				t.Errorf("jwk = %v, want members %v", j, tt.want)
			}
			for _, m := range tt.want {
				if _, ok := j[m]; !ok {
					t.Errorf("missing %s in %v", m, j)
				}
			}
			if _, ok := k.PublicJWKWithoutAlg()["alg"]; ok {
				t.Error("PublicJWKWithoutAlg has alg")
			}
		})
	}
	if got := string(JWKS()); got != `{"keys":[]}` {
		t.Errorf("empty JWKS = %s", got)
	}
}

// FuzzTamper: Tamper takes whatever a test hands it, so it must never
// panic and always change its input.
func FuzzTamper(f *testing.F) {
	for _, s := range []string{"", ".", "a.b.c", "eyJhIjoxfQ.eyJzdWIiOiJ4In0.c2ln", "a.b.c.d.e", "..", "...."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Tamper(s) == s {
			t.Errorf("Tamper(%q) unchanged", s)
		}
	})
}

func TestVariantSignaturesStd(t *testing.T) {
	m, err := NewMinter("https://op.example", "client-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		alg  string
		key  *Key
	}{
		{"ps256-on-rs256-key", "PS256", m.Key},
		{"unknown-kid", "RS256", m.OtherKey},
		{"embedded-jwk", "RS256", m.OtherKey},
		{"header-not-json", "RS256", m.Key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := LookupVariant(tt.name)
			s, err := v.Mint(m)
			if err != nil {
				t.Fatal(err)
			}
			p := strings.Split(s, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(p[2])
			if !verifyStd(tt.alg, tt.key.Signer.Public(), p[0]+"."+p[1], sig) {
				t.Error("not a genuine signature")
			}
		})
	}
	v, _ := LookupVariant("hs256-rsa-public-key")
	s, err := v.Mint(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mustPEM(t, m.Key)), "BEGIN PUBLIC KEY") {
		t.Fatal("pem")
	}
	i := strings.LastIndexByte(s, '.')
	mac, _ := hmacSign("HS256", mustPEM(t, m.Key), s[:i])
	if b64(mac) != s[i+1:] {
		t.Error("hs256-rsa-public-key is not keyed with the PEM public key")
	}
}

func mustPEM(t *testing.T, k *Key) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
