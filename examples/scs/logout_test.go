package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
)

// TestLogoutWorks is the README's "logout works" test, as a user writes it
// for their own app (README.md holds the same text; examples/readme_test.go
// checks it).
func TestLogoutWorks(t *testing.T) {
	op := fakeop.New(t)
	app := op.StartApp(t, fakeop.Client{ID: "app", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
		func(url string) (http.Handler, error) {
			return newApp(t.Context(), config{Issuer: op.Issuer(), ClientID: "app", BaseURL: url})
		})
	browser := op.SignIn(t, app.URL+"/login", "alice") // through the app's login route
	op.SignOut(t, browser)                             // the OP's "sign out everywhere"
	resp, err := browser.Get(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if page, _ := io.ReadAll(resp.Body); !strings.Contains(string(page), "Signed out") {
		t.Errorf("after the OP's logout the app shows %s", page)
	}
}
