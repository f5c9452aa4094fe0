// Package apptest holds the tests the example programs share: each
// program is a package main of its own, copied whole by users, so the
// test of what they have in common lives here once.
package apptest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
)

// SignOutButton: a browser signed in to two apps of one OP session
// presses "Sign out" in one; the OP sends it back to that app's sign-out
// route, which lands it on the signed-out page, and the other app's page is signed out too, by the back-channel
// logout the OP sent it. newApp builds an example program's app.
func SignOutButton(t *testing.T, newApp func(issuer, clientID, baseURL string) (http.Handler, error)) {
	op := fakeop.New(t)
	start := func(id string) string {
		return op.StartApp(t, fakeop.Client{ID: id, RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout",
			PostLogoutRedirectURIs: []string{"/signout"}},
			func(url string) (http.Handler, error) {
				return newApp(op.Issuer(), id, url)
			}).URL
	}
	one, two := start("one"), start("two")
	br := &http.Client{Jar: &portJar{jars: map[string]http.CookieJar{}}}
	signIn(t, br, op.Issuer(), one+"/login", "alice")
	if page, _ := fetchPage(t, br, http.MethodGet, two+"/login"); !strings.Contains(page, "Signed in as") { // single sign-on
		t.Fatalf("sign-in to two: %s", page)
	}
	page, at := fetchPage(t, br, http.MethodPost, one+"/signout")
	if !strings.Contains(page, "Signed out") || at.Path != "/signed-out" {
		t.Fatalf("Sign out in one: ended at %s with %s", at, page)
	}
	for _, app := range []string{one, two} {
		if page, _ := fetchPage(t, br, http.MethodGet, app+"/"); !strings.Contains(page, "Signed out") {
			t.Errorf("%s after Sign out in one: %s", app, page)
		}
	}
}

// signIn goes through the app's login route and the OP's login form.
func signIn(t *testing.T, br *http.Client, issuer, loginURL, sub string) {
	t.Helper()
	_, at := fetchPage(t, br, http.MethodGet, loginURL)
	form := at.Query() // the login form carries the authorization request
	form.Set("username", sub)
	resp, err := br.PostForm(issuer+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Signed in as") {
		t.Fatalf("sign-in through %s: %s", loginURL, page)
	}
}

func fetchPage(t *testing.T, br *http.Client, method, target string) (string, *url.URL) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := br.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return string(page), resp.Request.URL
}

// portJar keeps each host:port's cookies apart, as if each app had a host
// name of its own: cookies ignore ports, and both apps name their cookie
// alike.
type portJar struct {
	mu   sync.Mutex
	jars map[string]http.CookieJar
}

func (p *portJar) jar(u *url.URL) http.CookieJar {
	p.mu.Lock()
	defer p.mu.Unlock()
	j, ok := p.jars[u.Host]
	if !ok {
		j, _ = cookiejar.New(nil)
		p.jars[u.Host] = j
	}
	return j
}

func (p *portJar) SetCookies(u *url.URL, cookies []*http.Cookie) { p.jar(u).SetCookies(u, cookies) }
func (p *portJar) Cookies(u *url.URL) []*http.Cookie             { return p.jar(u).Cookies(u) }
