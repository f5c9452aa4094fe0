package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/lestrrat-go/jwx/v4/jwk"

	"github.com/bclogout/bclogout/jwks"
)

func ExampleDiscover() {
	// An OP on loopback, so plain http is accepted.
	var issuer string
	op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":"%[1]s/jwks",
			"id_token_signing_alg_values_supported":["RS256","none"],
			"backchannel_logout_supported":true,"backchannel_logout_session_supported":true}`, issuer)
	}))
	defer op.Close()
	issuer = op.URL

	md, err := jwks.Discover(context.Background(), issuer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(md.JWKSURI == issuer+"/jwks", md.IDTokenSigningAlgValuesSupported, md.BackchannelLogoutSessionSupported)
	// Output: true [RS256] true
}

func ExampleLoadStatic() {
	keys, err := jwks.LoadStatic("testdata/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	set, err := keys.Keys(context.Background(), "example-es256")
	if err != nil {
		log.Fatal(err)
	}
	k, _ := set.LookupKeyID("example-es256")
	alg, _ := k.Algorithm()
	fmt.Println(set.Len(), k.KeyType(), alg)
	// Output: 1 EC ES256
}

func ExampleNewRemote() {
	// The OP's JWKS endpoint, publishing one Ed25519 key.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := jwk.Import[jwk.Key](pub)
	_ = key.Set(jwk.KeyIDKey, "2025-01")
	set := jwk.NewSet()
	_ = set.AddKey(key)
	op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer op.Close()

	keys, err := jwks.NewRemote(op.URL + "/jwks")
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()

	// The kid comes from the logout token's header; an unknown one makes
	// Keys fetch again (at most once per 10 s).
	current, err := keys.Keys(context.Background(), "2025-01")
	if err != nil {
		log.Fatal(err)
	}
	k, ok := current.LookupKeyID("2025-01")
	fmt.Println(ok, k.KeyType())
	// Output: true OKP
}
