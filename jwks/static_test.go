package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/bclogout/bclogout/internal/keycheck"
	"github.com/bclogout/bclogout/jwks"
)

func TestParseKeySetAsSource(t *testing.T) {
	rsaKey := genKey(t, "RSA", "r1", "RS256")
	ecKey := genKey(t, "EC", "e1", "")
	edKey := genKey(t, "OKP", "o1", "EdDSA")
	oct, err := jwk.Import([]byte("a client secret of sufficient length"))
	if err != nil {
		t.Fatal(err)
	}
	_ = oct.Set(jwk.KeyIDKey, "h1")
	enc := publicOf(t, genKey(t, "RSA", "n1", ""))
	_ = enc.Set(jwk.KeyUsageKey, "enc")
	encryptOnly := publicOf(t, genKey(t, "RSA", "n2", ""))
	_ = encryptOnly.Set(jwk.KeyOpsKey, jwk.KeyOperationList{jwk.KeyOpEncrypt})

	tests := []struct {
		name    string
		body    []byte
		want    []string
		wantErr error
	}{
		{name: "public keys", body: setJSON(t, publicOf(t, rsaKey), publicOf(t, ecKey), publicOf(t, edKey)), want: []string{"r1", "e1", "o1"}},
		{name: "private keys become public", body: setJSON(t, rsaKey, ecKey), want: []string{"r1", "e1"}},
		{name: "encryption keys left out", body: setJSON(t, publicOf(t, rsaKey), enc, encryptOnly), want: []string{"r1"}},
		{name: "only encryption keys", body: setJSON(t, enc, encryptOnly), wantErr: jwks.ErrInvalidJWKS},
		{name: "symmetric key refused", body: setJSON(t, publicOf(t, rsaKey), oct), wantErr: jwks.ErrInvalidJWKS},
		{name: "empty set", body: []byte(`{"keys":[]}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "lone jwk is not a set", body: []byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "keys not an array", body: []byte(`{"keys":{}}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "unknown kty refused", body: []byte(`{"keys":[{"kty":"PQ","kid":"x"}]}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "not json", body: []byte(`<html>`), wantErr: jwks.ErrInvalidJWKS},
		{name: "empty input", body: nil, wantErr: jwks.ErrInvalidJWKS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jwks.ParseKeySet(tt.body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			set, err := s.Keys(context.Background(), "unknown")
			if err != nil {
				t.Fatal(err)
			}
			if got := kids(set); !slices.Equal(got, tt.want) {
				t.Errorf("kids = %v, want %v", got, tt.want)
			}
			for k := range set.All() {
				if jwks.HasPrivate(k) {
					t.Errorf("key %q is private", k.KeyID())
				}
			}
		})
	}
}

// An Ed25519 key of small order is one anyone can sign for: crypto/ed25519
// accepts a signature made of a small-order R and S = 0 for some of the
// first messages tried. Each of the eight points of small order, with and
// without the sign of x, and two encodings of y beyond the field prime are
// refused.
func TestParseKeySetRefusesEd25519KeysAnyoneCanSignFor(t *testing.T) {
	small := []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0000000000000000000000000000000000000000000000000000000000000000", // order 4
		"0000000000000000000000000000000000000000000000000000000000000080",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p + 1
	}
	var keys [][]byte
	for _, h := range small {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, b)
	}
	forged := func(pub []byte) bool {
		for i := range 256 {
			msg := fmt.Appendf(nil, "header.payload-%d", i)
			for _, r := range keys {
				if ed25519.Verify(pub, msg, append(slices.Clone(r), make([]byte, 32)...)) {
					return true
				}
			}
		}
		return false
	}
	for _, pub := range keys {
		if !forged(pub) {
			t.Fatalf("no signature forged for %x: not a key anyone can sign for", pub)
		}
		x := base64.RawURLEncoding.EncodeToString(pub)
		body := fmt.Appendf(nil, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"weak","x":%q}]}`, x)
		if _, err := jwks.ParseKeySet(body); !errors.Is(err, jwks.ErrInvalidJWKS) {
			t.Errorf("x = %s: err = %v, want ErrInvalidJWKS", x, err)
		}
	}
}

func TestParseKeySet(t *testing.T) {
	withAlg := genKey(t, "RSA", "r1", "RS256")
	noAlg := publicOf(t, genKey(t, "RSA", "r2", ""))
	_ = noAlg.Set(jwk.KeyUsageKey, "sig")
	_ = noAlg.Set(jwk.KeyOpsKey, jwk.KeyOperationList{jwk.KeyOpVerify})

	got, err := jwks.ParseKeySet(setJSON(t, withAlg, noAlg))
	if err != nil {
		t.Fatal(err)
	}
	k := lookup(got, "r1")
	if k == nil {
		t.Fatal("r1 missing")
	}
	if k.Algorithm() != "RS256" {
		t.Errorf("r1 alg = %q, want RS256 kept through the public conversion", k.Algorithm())
	}
	if jwks.HasPrivate(*k) {
		t.Error("r1 kept its private key")
	}
	if _, ok := k.Public().(*rsa.PublicKey); !ok {
		t.Errorf("r1 public key is %T", k.Public())
	}
	k = lookup(got, "r2")
	if k == nil {
		t.Fatal("r2 missing: keys without alg must be kept")
	}
	if k.Algorithm() != "" {
		t.Error("r2 gained an alg")
	}

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallJWK := []byte(`{"keys":[{"kty":"RSA","kid":"small","e":"AQAB","n":"` +
		base64.RawURLEncoding.EncodeToString(small.N.Bytes()) + `"}]}`)
	// A modulus past keycheck.MaxRSABits (its primes do not matter: only
	// its size is judged), whose every verification would be slow.
	huge := make([]byte, keycheck.MaxRSABits/8+1)
	huge[0], huge[len(huge)-1] = 0xff, 0x01
	hugeJWK := []byte(`{"keys":[{"kty":"RSA","kid":"huge","e":"AQAB","n":"` +
		base64.RawURLEncoding.EncodeToString(huge) + `"}]}`)
	for name, body := range map[string][]byte{
		"empty set":      []byte(`{"keys":[]}`),
		"1024-bit RSA":   smallJWK,
		"16392-bit RSA":  hugeJWK,
		"not a jwk set":  []byte(`{"kty":"RSA"}`),
		"symmetric key":  []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`),
		"unparsable key": []byte(`{"keys":[{"kty":"RSA","n":"x"}]}`),
	} {
		if _, err := jwks.ParseKeySet(body); !errors.Is(err, jwks.ErrInvalidJWKS) {
			t.Errorf("%s: err = %v, want ErrInvalidJWKS", name, err)
		}
	}
	var zero *jwks.KeySet
	if got := kids(zero); len(got) != 0 {
		t.Errorf("a nil KeySet has keys %v", got)
	}
}
