package jwks_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lestrrat-go/jwx/v4/jwk"

	"github.com/bclogout/bclogout/jwks"
)

func TestParseStatic(t *testing.T) {
	rsaKey := genKey(t, "RSA", "r1", "RS256")
	ecKey := genKey(t, "EC", "e1", "")
	edKey := genKey(t, "OKP", "o1", "EdDSA")
	oct, err := jwk.Import[jwk.Key]([]byte("a client secret of sufficient length"))
	if err != nil {
		t.Fatal(err)
	}
	_ = oct.Set(jwk.KeyIDKey, "h1")

	tests := []struct {
		name    string
		body    []byte
		want    []string
		wantErr error
	}{
		{name: "public keys", body: setJSON(t, publicOf(t, rsaKey), publicOf(t, ecKey), publicOf(t, edKey)), want: []string{"r1", "e1", "o1"}},
		{name: "private keys become public", body: setJSON(t, rsaKey, ecKey), want: []string{"r1", "e1"}},
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
			s, err := jwks.ParseStatic(tt.body)
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
			for i := range set.Len() {
				k, _ := set.Key(i)
				if private, _ := jwk.IsPrivateKey(k); private {
					t.Errorf("key %d is private", i)
				}
			}
		})
	}
}

func TestNewStatic(t *testing.T) {
	withAlg := genKey(t, "RSA", "r1", "RS256")
	noAlg := publicOf(t, genKey(t, "RSA", "r2", ""))
	set := jwk.NewSet()
	_ = set.AddKey(withAlg)
	_ = set.AddKey(noAlg)

	s, err := jwks.NewStatic(set)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Keys(context.Background(), "")
	k, ok := got.LookupKeyID("r1")
	if !ok {
		t.Fatal("r1 missing")
	}
	if alg, _ := k.Algorithm(); alg.String() != "RS256" {
		t.Errorf("r1 alg = %v, want RS256 kept through the public conversion", alg)
	}
	k, ok = got.LookupKeyID("r2")
	if !ok {
		t.Fatal("r2 missing: keys without alg must be kept")
	}
	if _, has := k.Algorithm(); has {
		t.Error("r2 gained an alg")
	}
	if set.Len() != 2 {
		t.Error("the caller's set was modified")
	}

	if _, err := jwks.NewStatic(nil); !errors.Is(err, jwks.ErrInvalidJWKS) {
		t.Errorf("nil set: err = %v", err)
	}
	if _, err := jwks.NewStatic(jwk.NewSet()); !errors.Is(err, jwks.ErrInvalidJWKS) {
		t.Errorf("empty set: err = %v", err)
	}
}

func TestLoadStatic(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(good, setJSON(t, publicOf(t, genKey(t, "EC", "e1", "ES256"))), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{name: "good", path: good},
		{name: "garbage", path: bad, wantErr: jwks.ErrInvalidJWKS},
		{name: "missing", path: filepath.Join(dir, "nope.json"), wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwks.LoadStatic(tt.path)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, jwks.ErrInvalidJWKS) {
				t.Errorf("err = %v does not wrap ErrInvalidJWKS", err)
			}
		})
	}
}
