package jwks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bclogout/bclogout/jwks"
)

func FuzzParseKeySet(f *testing.F) {
	f.Add(setJSON(f, publicOf(f, genKey(f, "RSA", "r1", "RS256"))))
	f.Add(setJSON(f, genKey(f, "EC", "e1", "")))
	f.Add(setJSON(f, publicOf(f, genKey(f, "OKP", "o1", "EdDSA"))))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"","e":""}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := jwks.ParseKeySet(body)
		if err != nil {
			if !errors.Is(err, jwks.ErrInvalidJWKS) {
				t.Fatalf("error %v does not wrap ErrInvalidJWKS", err)
			}
			return
		}
		set, err := s.Keys(context.Background(), "")
		if err != nil || len(kids(set)) == 0 {
			t.Fatalf("accepted set unusable: %v", err)
		}
		for k := range set.All() {
			if jwks.HasPrivate(k) || k.Public() == nil {
				t.Fatal("private key served")
			}
		}
	})
}
