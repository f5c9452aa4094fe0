package jwks_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"

	"github.com/bclogout/bclogout/jwks"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// genKey returns a private key of kty ("RSA", "EC", "OKP") as a JWK with
// kid and, when alg is not empty, alg.
func genKey(t testing.TB, kty, kid, alg string) jwk.Key {
	t.Helper()
	var raw any
	var err error
	switch kty {
	case "RSA":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EC":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "OKP":
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown kty %q", kty)
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	if alg != "" {
		a, ok := jwa.LookupSignatureAlgorithm(alg)
		if !ok {
			t.Fatalf("unknown alg %q", alg)
		}
		if err := k.Set(jwk.AlgorithmKey, a); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func publicOf(t testing.TB, k jwk.Key) jwk.Key {
	t.Helper()
	pub, err := k.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// setJSON marshals keys as a JWK Set document.
func setJSON(t testing.TB, keys ...jwk.Key) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kids lists a set's kids in order.
func kids(set *jwks.KeySet) []string {
	var out []string
	for k := range set.All() {
		out = append(out, k.KeyID())
	}
	return out
}

// privateKids lists a private set's kids in order, and fails t for a key
// without its private key.
func privateKids(t testing.TB, set *jwks.PrivateSet) []string {
	t.Helper()
	var out []string
	for k, priv := range set.All() {
		if priv == nil {
			t.Errorf("key %q is not private", k.KeyID())
		}
		out = append(out, k.KeyID())
	}
	return out
}

// lookup returns the key of set with kid, or nil.
func lookup(set *jwks.KeySet, kid string) *jwks.Key {
	for k := range set.All() {
		if k.KeyID() == kid {
			return &k
		}
	}
	return nil
}
