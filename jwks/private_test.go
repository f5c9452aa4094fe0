package jwks_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
)

// firstJWK returns the first key of a JWK set document as a map to edit.
func firstJWK(t *testing.T, set []byte) map[string]any {
	t.Helper()
	var s struct{ Keys []map[string]any }
	if err := json.Unmarshal(set, &s); err != nil || len(s.Keys) == 0 {
		t.Fatalf("not a JWK set: %v\n%s", err, set)
	}
	return s.Keys[0]
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePrivateSet(t *testing.T) {
	rsaEnc, err := opkit.GenerateEncryptionKeyAlg("RSA-OAEP-256", "A256GCM", "rp-rsa")
	if err != nil {
		t.Fatal(err)
	}
	ecEnc, err := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "rp-ec")
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xk, err := jwk.Import(x25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := xk.Set(jwk.KeyIDKey, "rp-x25519"); err != nil {
		t.Fatal(err)
	}
	ecP384 := genKey(t, "EC", "rp-p384", "")
	rsaJWK, ecJWK := firstJWK(t, rsaEnc.PrivateJWKS()), firstJWK(t, ecEnc.PrivateJWKS())
	tests := []struct {
		name string
		data []byte
		want []string // kids, in order
	}{
		{name: "fakeop rsa set", data: rsaEnc.PrivateJWKS(), want: []string{"rp-rsa"}},
		{name: "fakeop ec set", data: ecEnc.PrivateJWKS(), want: []string{"rp-ec"}},
		{name: "lone jwk", data: mustJSON(t, ecJWK), want: []string{"rp-ec"}},
		{name: "several keys", data: mustJSON(t, map[string]any{"keys": []any{rsaJWK, ecJWK, xk, ecP384}}), want: []string{"rp-rsa", "rp-ec", "rp-x25519", "rp-p384"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := jwks.ParsePrivateSet(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if got := privateKids(t, set); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("kids %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("members kept", func(t *testing.T) {
		set, err := jwks.ParsePrivateSet(rsaEnc.PrivateJWKS())
		if err != nil {
			t.Fatal(err)
		}
		for k, priv := range set.All() {
			if k.Algorithm() != "RSA-OAEP-256" {
				t.Errorf("alg %q", k.Algorithm())
			}
			if _, ok := priv.(*rsa.PrivateKey); !ok {
				t.Errorf("private key of type %T", priv)
			}
		}
	})
}

func TestParsePrivateSetErrors(t *testing.T) {
	rsaEnc, err := opkit.GenerateEncryptionKey("rp-rsa")
	if err != nil {
		t.Fatal(err)
	}
	ecEnc, err := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "rp-ec")
	if err != nil {
		t.Fatal(err)
	}
	otherEC, err := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "other")
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	small.Precompute()
	b64n := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }
	smallJWK := map[string]any{"kty": "RSA", "kid": "small", "n": b64n(small.N), "e": "AQAB",
		"d": b64n(small.D), "p": b64n(small.Primes[0]), "q": b64n(small.Primes[1]),
		"dp": b64n(small.Precomputed.Dp), "dq": b64n(small.Precomputed.Dq), "qi": b64n(small.Precomputed.Qinv)}
	edit := func(set []byte, change func(m map[string]any)) []byte {
		m := firstJWK(t, set)
		change(m)
		return mustJSON(t, m)
	}
	bump := func(s string) string {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 2
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{name: "not json", data: []byte(`{`), wantErr: jwks.ErrInvalidJWKS},
		{name: "json array", data: []byte(`[]`), wantErr: jwks.ErrInvalidJWKS},
		{name: "empty set", data: []byte(`{"keys":[]}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "keys not an array", data: []byte(`{"keys":{}}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "oct", data: []byte(`{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "unknown kty", data: []byte(`{"kty":"XYZ"}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "rsa public only", data: mustJSON(t, rsaEnc.PublicJWK()), wantErr: jwks.ErrInvalidJWKS},
		{name: "ec public only", data: mustJSON(t, ecEnc.PublicJWK()), wantErr: jwks.ErrInvalidJWKS},
		{name: "one public key among private ones", data: mustJSON(t, map[string]any{"keys": []any{firstJWK(t, rsaEnc.PrivateJWKS()), ecEnc.PublicJWK()}}), wantErr: jwks.ErrInvalidJWKS},
		{name: "signing key", data: edit(rsaEnc.PrivateJWKS(), func(m map[string]any) { m["use"] = "sig" }), wantErr: jwks.ErrInvalidJWKS},
		{name: "use other than enc", data: edit(rsaEnc.PrivateJWKS(), func(m map[string]any) { m["use"] = "tls" }), wantErr: jwks.ErrInvalidJWKS},
		{name: "key_ops without decryption", data: edit(rsaEnc.PrivateJWKS(), func(m map[string]any) { m["key_ops"] = []string{"sign", "encrypt"} }), wantErr: jwks.ErrInvalidJWKS},
		{name: "ed25519", data: setJSON(t, genKey(t, "OKP", "ed", "")), wantErr: jwks.ErrInvalidJWKS},
		{name: "ec d of another key", data: edit(ecEnc.PrivateJWKS(), func(m map[string]any) { m["d"] = firstJWK(t, otherEC.PrivateJWKS())["d"] }), wantErr: jwks.ErrInvalidJWKS},
		{name: "rsa fails validate", data: edit(rsaEnc.PrivateJWKS(), func(m map[string]any) { m["d"] = bump(m["d"].(string)) }), wantErr: jwks.ErrInvalidJWKS},
		{name: "rsa 1024 bits", data: mustJSON(t, smallJWK), wantErr: jwks.ErrInvalidJWKS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := jwks.ParsePrivateSet(tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v\n%s", err, tt.wantErr, tt.data)
			}
			if set != nil {
				t.Error("a set came back with the error")
			}
			t.Log(err)
		})
	}
}

// FuzzParsePrivateSet checks that arbitrary input never panics and that
// whatever is accepted holds private keys only.
func FuzzParsePrivateSet(f *testing.F) {
	if ek, err := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "rp-ec"); err == nil {
		f.Add(ek.PrivateJWKS())
		f.Add(opkit.JWKS(ek.PublicJWK()))
	}
	for _, s := range []string{``, `{}`, `[]`, `null`, `{"keys":[]}`, `{"keys":[null]}`, `{"kty":"oct","k":"AA"}`,
		`{"kty":"OKP","crv":"X25519","x":"AA","d":"AA"}`, `{"kty":"EC","crv":"P-256","x":"","y":"","d":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := jwks.ParsePrivateSet(data)
		if err != nil {
			if !errors.Is(err, jwks.ErrInvalidJWKS) {
				t.Fatalf("error outside ErrInvalidJWKS: %v", err)
			}
			return
		}
		if len(privateKids(t, set)) == 0 {
			t.Fatal("empty set accepted")
		}
	})
}
