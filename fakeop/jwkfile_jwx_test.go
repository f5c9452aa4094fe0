package fakeop

import (
	"crypto"
	"encoding/json"
	"testing"

	"github.com/lestrrat-go/jwx/v4/jwk"
)

// TestPrivateJWKInteropJWX cross-checks with jwx, which wrote the
// command's key files before PrivateJWK existed: a file jwx marshals
// parses here, and PrivateJWK's output parses in jwx to the same key.
func TestPrivateJWKInteropJWX(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "ES384", "ES512", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			orig, err := GenerateKey(alg, "bclogout-cli")
			if err != nil {
				t.Fatal(err)
			}
			key, err := jwk.Import[jwk.Key](orig.Signer)
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range map[string]any{jwk.KeyIDKey: orig.ID, jwk.AlgorithmKey: orig.Alg, jwk.KeyUsageKey: "sig"} {
				if err := key.Set(name, v); err != nil {
					t.Fatal(err)
				}
			}
			file, err := json.MarshalIndent(map[string]any{"keys": []jwk.Key{key}}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePrivateJWK(file)
			if err != nil {
				t.Fatalf("jwx-written file: %v\n%s", err, file)
			}
			if got.Alg != alg || got.ID != orig.ID || !samePublic(got.Signer, orig.Signer) {
				t.Errorf("jwx-written file: alg %q kid %q or another key", got.Alg, got.ID)
			}

			back, err := jwk.ParseKey(mustMarshal(t, orig.PrivateJWK()))
			if err != nil {
				t.Fatalf("jwx parses PrivateJWK: %v", err)
			}
			raw, err := jwk.Export[any](back)
			if err != nil {
				t.Fatal(err)
			}
			if eq, ok := raw.(interface{ Equal(crypto.PrivateKey) bool }); !ok || !eq.Equal(orig.Signer) {
				t.Errorf("jwx reads PrivateJWK as another private key (%T)", raw)
			}
		})
	}
}

func samePublic(a, b crypto.Signer) bool {
	return a.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(b.Public())
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
