package examples_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// TestREADMELogoutTestNeedsTheGuard runs the README's logout test
// (StartApp, SignIn, SignOut, then the browser's next page) on apps wired
// with the README's front door (bclogout.New), deletion included, with and
// without its request-time guard: the test passes with the guard and fails
// without it, for scs's memstore (deleted at logout, then written back by
// the callback SignOut holds in flight) and for gorilla's CookieStore
// (which nothing can delete). Before SignOut held a request in flight, the
// scs app without its guard passed.
func TestREADMELogoutTestNeedsTheGuard(t *testing.T) {
	apps := map[string]func(t *testing.T, issuer, baseURL string, guarded bool) (http.Handler, error){
		"scs memstore":        newSCSApp,
		"gorilla CookieStore": newGorillaCookieApp,
	}
	for name, newApp := range apps {
		for _, guarded := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s guard=%v", name, guarded), func(t *testing.T) {
				op := fakeop.New(t)
				app := op.StartApp(t, fakeop.Client{ID: "app", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
					func(url string) (http.Handler, error) { return newApp(t, op.Issuer(), url, guarded) })
				browser := op.SignIn(t, app.URL+"/login", "alice")
				if page := getPage(t, browser, app.URL); !strings.Contains(page, "Signed in as alice") {
					t.Fatalf("after SignIn the app shows %q", page)
				}
				op.SignOut(t, browser)
				page := getPage(t, browser, app.URL)
				// The README test's check: it passes only when the page says
				// "Signed out".
				if passes := strings.Contains(page, "Signed out"); passes != guarded {
					t.Errorf("guard=%v: the README test passes=%v, want %v (page %q)", guarded, passes, guarded, page)
				}
			})
		}
	}
}

func getPage(t *testing.T, browser *http.Client, u string) string {
	t.Helper()
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// oidcClient is the authorization-code flow both test apps share.
type oidcClient struct {
	oauth    oauth2.Config
	idTokens *oidc.IDTokenVerifier
}

func newOIDCClient(ctx context.Context, issuer, baseURL string) (*oidcClient, error) {
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	return &oidcClient{
		idTokens: provider.Verifier(&oidc.Config{ClientID: "app"}),
		oauth: oauth2.Config{ClientID: "app", Endpoint: provider.Endpoint(),
			RedirectURL: baseURL + "/callback", Scopes: []string{oidc.ScopeOpenID}},
	}, nil
}

func (c *oidcClient) authURL(state, nonce, pkce string) string {
	return c.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce))
}

// exchange redeems the callback's code and verifies its ID token, which
// it returns verified and raw (for Login).
func (c *oidcClient) exchange(r *http.Request, pkce, nonce string) (*oidc.IDToken, string, error) {
	tok, err := c.oauth.Exchange(r.Context(), r.FormValue("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		return nil, "", err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := c.idTokens.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != nonce {
		return nil, "", errors.New("bad id token")
	}
	return idt, raw, nil
}

// newLogout is the README's front door for sessions, closed with t.
func newLogout(t *testing.T, issuer string, sessions sessionadapter.Sessions) (*bclogout.RP, error) {
	bl, err := bclogout.New(t.Context(), bclogout.Config{Issuer: issuer, ClientID: "app", Sessions: sessions})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = bl.Close(context.Background()) })
	return bl, nil
}

func showUser(w http.ResponseWriter, user string) {
	if user == "" {
		fmt.Fprint(w, "Signed out")
		return
	}
	fmt.Fprint(w, "Signed in as "+user)
}

// newSCSApp is examples/scs's wiring with memstore (deleted at logout
// through the front door's default bindings); guarded puts the guard
// inside LoadAndSave.
func newSCSApp(t *testing.T, issuer, baseURL string, guarded bool) (http.Handler, error) {
	sm := scs.New()
	sm.Store = memstore.New()
	c, err := newOIDCClient(t.Context(), issuer, baseURL)
	if err != nil {
		return nil, err
	}
	bl, err := newLogout(t, issuer, scsadapter.New(sm))
	if err != nil {
		return nil, err
	}
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		showUser(w, sm.GetString(r.Context(), "user"))
	})
	pages.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		sm.Put(r.Context(), "state", state)
		sm.Put(r.Context(), "nonce", nonce)
		sm.Put(r.Context(), "pkce", pkce)
		http.Redirect(w, r, c.authURL(state, nonce, pkce), http.StatusFound)
	})
	pages.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.FormValue("state") == "" || r.FormValue("state") != sm.PopString(ctx, "state") {
			http.Error(w, "bad state", http.StatusBadRequest)
			return
		}
		idt, raw, err := c.exchange(r, sm.PopString(ctx, "pkce"), sm.PopString(ctx, "nonce"))
		if err == nil {
			err = bl.Login(w, r, raw)
		}
		if err != nil {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		sm.Put(ctx, "user", idt.Subject)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	var h http.Handler = pages
	if guarded {
		h = bl.Guard(pages)
	}
	return bl.Endpoints(sm.LoadAndSave(h)), nil
}

// newGorillaCookieApp is examples/gorilla's wiring with a CookieStore,
// which the server cannot delete: the revocation and, when guarded, the
// guard are all there is.
func newGorillaCookieApp(t *testing.T, issuer, baseURL string, guarded bool) (http.Handler, error) {
	cookies := sessions.NewCookieStore([]byte(rand.Text() + rand.Text()))
	c, err := newOIDCClient(t.Context(), issuer, baseURL)
	if err != nil {
		return nil, err
	}
	bl, err := newLogout(t, issuer, gorillaadapter.New(cookies, "session"))
	if err != nil {
		return nil, err
	}
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookies.Get(r, "session")
		user, _ := s.Values["user"].(string)
		showUser(w, user)
	})
	pages.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		ls, _ := cookies.New(r, "login")
		state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		ls.Values["state"], ls.Values["nonce"], ls.Values["pkce"] = state, nonce, pkce
		if err := ls.Save(r, w); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, c.authURL(state, nonce, pkce), http.StatusFound)
	})
	pages.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		ls, err := cookies.Get(r, "login")
		state, _ := ls.Values["state"].(string)
		if err != nil || state == "" || r.FormValue("state") != state {
			http.Error(w, "bad state", http.StatusBadRequest)
			return
		}
		pkce, _ := ls.Values["pkce"].(string)
		nonce, _ := ls.Values["nonce"].(string)
		idt, raw, err := c.exchange(r, pkce, nonce)
		if err != nil {
			http.Error(w, "login failed", http.StatusBadGateway)
			return
		}
		s, err := cookies.Get(r, "session")
		if err == nil {
			s.Values["user"] = idt.Subject
			err = bl.Login(w, r, raw) // saves the session
		}
		if err != nil {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	var h http.Handler = pages
	if guarded {
		h = bl.Guard(pages)
	}
	return bl.Endpoints(h), nil
}
