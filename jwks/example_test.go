package jwks_test

import (
	"context"
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
	k, _ := set.LookupKeyID("example-es256")
	alg, _ := k.Algorithm()
	fmt.Println(set.Len(), k.KeyType(), alg)
	// Output: 1 EC ES256
}
