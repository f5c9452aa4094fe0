package fakeop_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/bclogout/bclogout/fakeop"
)

func ExampleParsePrivateJWK() {
	k, err := fakeop.GenerateKey("ES256", "op-key-1")
	if err != nil {
		log.Fatal(err)
	}
	// What "bclogout op --key-file" keeps on disk: a private JWK set.
	file := fakeop.JWKS(k.PrivateJWK())

	loaded, err := fakeop.ParsePrivateJWK(file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.ID, loaded.Alg)

	// A public JWK is no signing key.
	pub, _ := json.Marshal(k.PublicJWK())
	_, err = fakeop.ParsePrivateJWK(pub)
	fmt.Println(err)
	// Output:
	// op-key-1 ES256
	// fakeop: invalid jwk: not a private key (kty EC)
}
