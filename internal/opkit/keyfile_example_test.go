package opkit_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/bclogout/bclogout/internal/opkit"
)

func ExampleParsePrivateJWK() {
	k, err := opkit.GenerateKey("ES256", "op-key-1")
	if err != nil {
		log.Fatal(err)
	}
	// What "bclogout op --key-file" keeps on disk: a private JWK set.
	file := opkit.JWKS(k.PrivateJWK())

	loaded, err := opkit.ParsePrivateJWK(file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.ID, loaded.Alg)

	// A public JWK is no signing key.
	pub, _ := json.Marshal(k.PublicJWK())
	_, err = opkit.ParsePrivateJWK(pub)
	fmt.Println(err)
	// Output:
	// op-key-1 ES256
	// fakeop: invalid jwk: not a private key (kty EC)
}
