package fakeop_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/bclogout/bclogout/fakeop"
)

// A test mints a logout token, changes what it wants, and signs it.
func ExampleNewLogoutToken() {
	key, err := fakeop.GenerateKey("ES256", "op-key-1")
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := fakeop.NewLogoutToken("https://op.example", "my-client", now)
	tok.Claims["sid"] = "session-42"
	delete(tok.Claims, "sub")
	signed, err := tok.Sign(key)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Count(signed, "."), "dots")
	// The RP is configured with this key set.
	fmt.Println(strings.HasPrefix(string(fakeop.JWKS(key.PublicJWK())), `{"keys":[{"alg":"ES256"`))
	// Output:
	// 2 dots
	// true
}

// Every named variant mints from one Minter; an RP must accept exactly
// the Valid ones.
func ExampleVariants() {
	m, err := fakeop.NewMinter("https://op.example", "my-client", time.Now())
	if err != nil {
		panic(err)
	}
	v, _ := fakeop.LookupVariant("alg-none")
	tok, err := v.Mint(m)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Valid, strings.HasSuffix(tok, "."))
	// Output: false true
}
