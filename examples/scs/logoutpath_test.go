package main

import (
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
)

// TestLogoutPath is the measurement scripts/logoutpath.sh makes: which of
// the library's files run for one accepted logout token, from the request
// to the deletion, on the README's wiring. It runs only under the script,
// which runs it twice with coverage: BCLOGOUT_LOGOUT_PATH=setup signs a
// user in and warms the endpoint with another user's logout;
// BCLOGOUT_LOGOUT_PATH=logout does the same and then logs the user out.
// The files whose blocks ran more often the second time are the path.
func TestLogoutPath(t *testing.T) {
	mode := os.Getenv("BCLOGOUT_LOGOUT_PATH")
	if mode == "" {
		t.Skip("run by scripts/logoutpath.sh")
	}
	op := fakeop.New(t)
	app := op.StartApp(t, fakeop.Client{ID: "app", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
		func(url string) (http.Handler, error) {
			return newApp(t.Context(), config{Issuer: op.Issuer(), ClientID: "app", BaseURL: url})
		})
	op.SignIn(t, app.URL+"/login", "alice")
	tokens := map[string]string{} // minted first: the OP's work is not the path
	for _, sub := range []string{"alice", "bob"} {
		tok, err := op.SignLogoutToken("app", sub, "")
		if err != nil {
			t.Fatal(err)
		}
		tokens[sub] = tok
	}
	post := func(sub string) {
		t.Helper()
		resp, err := http.PostForm(app.URL+"/backchannel-logout", url.Values{"logout_token": {tokens[sub]}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("logout of %s: %s", sub, resp.Status)
		}
	}
	post("bob") // the first logout's one-time work is not the path
	if mode == "logout" {
		post("alice")
	}
}
