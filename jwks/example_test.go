package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"

	"github.com/bclogout/bclogout/jwks"
)

func ExampleDiscover() {
	// An OP on loopback, so plain http is accepted.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	var issuer string
	op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/jwks" {
			fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"2025-01","x":%q}]}`,
				base64.RawURLEncoding.EncodeToString(pub))
			return
		}
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":"%[1]s/jwks",
			"id_token_signing_alg_values_supported":["EdDSA","none"]}`, issuer)
	}))
	defer op.Close()
	issuer = op.URL

	keys, algs, err := jwks.Discover(context.Background(), issuer)
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	set, err := keys.Keys(context.Background(), "2025-01")
	if err != nil {
		log.Fatal(err)
	}
	for k := range set.All() {
		fmt.Println(algs, k.KeyID())
	}
	// Output: [EdDSA] 2025-01
}

func ExampleParseKeySet_file() {
	b, err := os.ReadFile("testdata/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwks.ParseKeySet(b) // a fixed jwks.Source
	if err != nil {
		log.Fatal(err)
	}
	set, err := keys.Keys(context.Background(), "example-es256")
	if err != nil {
		log.Fatal(err)
	}
	for k := range set.All() {
		_, isEC := k.Public().(*ecdsa.PublicKey)
		fmt.Println(k.KeyID(), isEC, k.Algorithm())
	}
	// Output: example-es256 true ES256
}

func ExampleNewRemote() {
	// The OP's JWKS endpoint, publishing one Ed25519 key.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"2025-01","x":%q}]}`,
			base64.RawURLEncoding.EncodeToString(pub))
	}))
	defer op.Close()

	keys, err := jwks.NewRemote(op.URL + "/jwks")
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()

	// The kid comes from the logout token's header; an unknown one makes
	// Keys fetch again (at most once a second).
	current, err := keys.Keys(context.Background(), "2025-01")
	if err != nil {
		log.Fatal(err)
	}
	for k := range current.All() {
		_, isEd25519 := k.Public().(ed25519.PublicKey)
		fmt.Println(k.KeyID(), isEd25519)
	}
	// Output: 2025-01 true
}

// rotatingKeys is a Source of one's own: keys pushed by a configuration
// system rather than fetched. Each change makes a new KeySet, which is
// immutable, so a verifier holding the old one never sees half a change.
type rotatingKeys struct {
	cur atomic.Pointer[jwks.KeySet]
}

var _ jwks.Source = (*rotatingKeys)(nil)

func (r *rotatingKeys) Keys(ctx context.Context, kid string) (*jwks.KeySet, error) {
	if set := r.cur.Load(); set != nil {
		return set, nil
	}
	return nil, jwks.ErrFetch
}

// update installs a new JWK Set document.
func (r *rotatingKeys) update(jwksJSON []byte) error {
	set, err := jwks.ParseKeySet(jwksJSON)
	if err != nil {
		return err
	}
	r.cur.Store(set)
	return nil
}

func ExampleParseKeySet_source() {
	src := new(rotatingKeys) // what rp.NewVerifier takes as its jwks.Source
	b, err := os.ReadFile("testdata/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	if err := src.update(b); err != nil {
		log.Fatal(err)
	}
	set, err := src.Keys(context.Background(), "")
	if err != nil {
		log.Fatal(err)
	}
	for k := range set.All() {
		fmt.Println(k.KeyID(), k.Algorithm())
	}
	// Output: example-es256 ES256
}
