package opkit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
)

// A test mints a logout token, changes what it wants, and signs it.
func ExampleNewLogoutToken() {
	key, err := opkit.GenerateKey("ES256", "op-key-1")
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := opkit.NewLogoutToken("https://op.example", "my-client", now)
	tok.Claims["sid"] = "session-42"
	delete(tok.Claims, "sub")
	signed, err := tok.Sign(key)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Count(signed, "."), "dots")
	// The RP is configured with this key set.
	fmt.Println(strings.HasPrefix(string(opkit.JWKS(key.PublicJWK())), `{"keys":[{"alg":"ES256"`))
	// Output:
	// 2 dots
	// true
}

// Every named variant mints from one Minter; an RP must accept exactly
// the Valid ones.
func ExampleVariants() {
	m, err := opkit.NewMinter("https://op.example", "my-client", time.Now())
	if err != nil {
		panic(err)
	}
	v, _ := opkit.LookupVariant("alg-none")
	tok, err := v.Mint(m)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Valid, strings.HasSuffix(tok, "."))
	// Output: false true
}

// A test starts the OP (opkit.New(t) in a test; NewServer here, as an
// Example has no *testing.T), registers its RP, and ends a session: the OP
// posts a logout token to the RP's back-channel logout URI.
func ExampleOP_EndSession() {
	received := make(chan string, 1)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.PostFormValue("logout_token")
	}))
	defer rp.Close()

	// New(t) allows loopback targets by itself; NewServer needs the option.
	op, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowPrivateTargets())
	if err != nil {
		panic(err)
	}
	defer op.Close()
	if err := op.RegisterClient(opkit.Client{ID: "my-app", BackchannelLogoutURI: rp.URL + "/logout"}); err != nil {
		panic(err)
	}
	sid, err := op.NewSession("alice", "my-app")
	if err != nil {
		panic(err)
	}
	rep, err := op.EndSession(context.Background(), sid)
	if err != nil {
		panic(err)
	}
	d := rep.Deliveries[0]
	fmt.Println(d.ClientID, d.Status, d.Attempts, strings.Count(<-received, "."))
	// Output: my-app 200 1 2
}
