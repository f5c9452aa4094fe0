package opkit_test

import (
	"crypto"
	"encoding/json"
	"errors"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

func TestPrivateJWKRoundTrip(t *testing.T) {
	for _, alg := range []string{"RS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k, err := opkit.GenerateKey(alg, "kid-"+alg)
			if err != nil {
				t.Fatal(err)
			}
			back, err := opkit.ParsePrivateJWK(opkit.JWKS(k.PrivateJWK()))
			if err != nil {
				t.Fatal(err)
			}
			if back.ID != k.ID || back.Alg != alg {
				t.Errorf("kid %q alg %q", back.ID, back.Alg)
			}
			eq, ok := back.Signer.(interface{ Equal(crypto.PrivateKey) bool })
			if !ok || !eq.Equal(k.Signer) {
				t.Errorf("another private key came back (%T)", back.Signer)
			}
		})
	}
	// Without alg, the key type's usual one.
	k, _ := opkit.GenerateKey("ES384", "")
	m := k.PrivateJWK()
	delete(m, "alg")
	back, err := opkit.ParsePrivateJWK(mustJSON(t, m))
	if err != nil || back.Alg != "ES384" {
		t.Errorf("alg %v, %v: want ES384 by default", back, err)
	}
}

func TestParsePrivateJWKErrors(t *testing.T) {
	rsaKey, _ := opkit.GenerateKey("RS256", "r")
	ecKey, _ := opkit.GenerateKey("ES256", "e")
	edit := func(k *opkit.Key, change func(map[string]any)) []byte {
		m := k.PrivateJWK()
		change(m)
		return mustJSON(t, m)
	}
	otherEC, _ := opkit.GenerateKey("ES256", "o")
	tests := []struct {
		name string
		data []byte
	}{
		{name: "not json", data: []byte("{")},
		{name: "empty set", data: []byte(`{"keys":[]}`)},
		{name: "keys not an array", data: []byte(`{"keys":{}}`)},
		{name: "public key", data: mustJSON(t, rsaKey.PublicJWK())},
		{name: "use enc", data: edit(rsaKey, func(m map[string]any) { m["use"] = "enc" })},
		{name: "alg of another type", data: edit(rsaKey, func(m map[string]any) { m["alg"] = "ES256" })},
		{name: "EC alg of another curve", data: edit(ecKey, func(m map[string]any) { m["alg"] = "ES384" })},
		{name: "EC d of another key", data: edit(ecKey, func(m map[string]any) { m["d"] = otherEC.PrivateJWK()["d"] })},
		{name: "symmetric key", data: []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := opkit.ParsePrivateJWK(tt.data); !errors.Is(err, opkit.ErrInvalidJWK) {
				t.Fatalf("err = %v, want ErrInvalidJWK", err)
			}
		})
	}
}

func TestParseEncryptionJWK(t *testing.T) {
	rsaEnc, _ := opkit.GenerateEncryptionKeyAlg("RSA-OAEP", "A256GCM", "r")
	ecEnc, _ := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "e")
	for name, ek := range map[string]*opkit.EncryptionKey{"rsa": rsaEnc, "ecdh": ecEnc} {
		back, err := opkit.ParseEncryptionJWK(ek.PrivateJWKS())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.ID != ek.ID || back.Alg != ek.Alg || string(back.PrivateJWKS()) != string(ek.PrivateJWKS()) {
			t.Errorf("%s: %+v does not round-trip", name, back)
		}
	}
	// The RP's public RSA key is enough to encrypt to.
	pub, err := opkit.ParseEncryptionJWK(mustJSON(t, rsaEnc.PublicJWK()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opkit.Encrypt("a.b.c", pub); err != nil {
		t.Errorf("encrypt to a public key: %v", err)
	}
	for name, data := range map[string][]byte{
		"EC public key": mustJSON(t, ecEnc.PublicJWK()),
		"use sig": func() []byte {
			m := rsaEnc.PublicJWK()
			m["use"] = "sig"
			return mustJSON(t, m)
		}(),
		"RSA with ECDH alg": func() []byte {
			m := rsaEnc.PublicJWK()
			m["alg"] = "ECDH-ES"
			return mustJSON(t, m)
		}(),
		"Ed25519": func() []byte {
			k, _ := opkit.GenerateKey("EdDSA", "x")
			m := k.PrivateJWK()
			delete(m, "use")
			return mustJSON(t, m)
		}(),
	} {
		if _, err := opkit.ParseEncryptionJWK(data); !errors.Is(err, opkit.ErrInvalidJWK) {
			t.Errorf("%s: err = %v, want ErrInvalidJWK", name, err)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseKeyFiles: whatever a key file holds, the readers return a key
// or an ErrInvalidJWK error, and never panic.
func FuzzParseKeyFiles(f *testing.F) {
	k, _ := opkit.GenerateKey("ES256", "k")
	ek, _ := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "e")
	f.Add(opkit.JWKS(k.PrivateJWK()))
	f.Add(ek.PrivateJWKS())
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}]}`))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"","d":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := opkit.ParsePrivateJWK(data); err != nil && !errors.Is(err, opkit.ErrInvalidJWK) {
			t.Fatalf("ParsePrivateJWK: %v does not wrap ErrInvalidJWK", err)
		} else if err == nil && k.Signer == nil {
			t.Fatal("ParsePrivateJWK: no signer")
		}
		if ek, err := opkit.ParseEncryptionJWK(data); err != nil && !errors.Is(err, opkit.ErrInvalidJWK) {
			t.Fatalf("ParseEncryptionJWK: %v does not wrap ErrInvalidJWK", err)
		} else if err == nil && ek.Private == nil {
			t.Fatal("ParseEncryptionJWK: no key")
		}
	})
}
