package jwks_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
)

func ExampleParsePrivateSet() {
	// The RP's encryption key, as a private JWK set file; the OP encrypts
	// logout tokens to its public half.
	ek, err := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "rp-enc-1")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "rp-keys")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rp-decryption-keys.json")
	if err := os.WriteFile(path, ek.PrivateJWKS(), 0o600); err != nil {
		log.Fatal(err)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	set, err := jwks.ParsePrivateSet(b)
	if err != nil {
		log.Fatal(err)
	}
	// Hand the set to rp.WithDecryptionKeys(set); never serve it.
	for k := range set.All() {
		fmt.Println(k.KeyID())
	}

	// A public key is no decryption key.
	_, err = jwks.ParsePrivateSet(opkit.JWKS(ek.PublicJWK()))
	fmt.Println(err != nil)
	// Output:
	// rp-enc-1
	// true
}
