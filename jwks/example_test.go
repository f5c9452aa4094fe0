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
	k := set.Key(0)
	_, isEC := k.Public().(*ecdsa.PublicKey)
	fmt.Println(set.Len(), k.KeyID(), isEC, k.Algorithm())
	// Output: 1 example-es256 true ES256
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
	// Keys fetch again (at most once per 10 s).
	current, err := keys.Keys(context.Background(), "2025-01")
	if err != nil {
		log.Fatal(err)
	}
	k := current.Key(0)
	_, isEd25519 := k.Public().(ed25519.PublicKey)
	fmt.Println(k.KeyID(), isEd25519)
	// Output: 2025-01 true
}
