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
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// TestREADMELogoutTestNeedsTheGuard runs the README's logout test (StartApp,
// SignIn, SignOut, then the browser's next page) on apps that wire the
// recommended stores, deletion included, with and without the request-time
// guard: the test passes with the guard and fails without it, for scs's
// memstore (deleted at logout, then written back by the request SignOut
// holds in flight) and for gorilla's CookieStore (which nothing can
// delete). Before SignOut held a request in flight, the scs app without
// its guard passed.
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

// logoutParts is the wiring both test apps share: the OIDC client, the
// revocations, the back-channel logout endpoint, cleaned up with t.
type logoutParts struct {
	oauth    oauth2.Config
	idTokens *oidc.IDTokenVerifier
	revs     sessionadapter.Revocations
	ender    *sessionadapter.RevokingEnder
	logout   http.Handler
}

func newLogoutParts(t *testing.T, issuer, baseURL string, store sessionadapter.Store) (*logoutParts, error) {
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	p := &logoutParts{
		idTokens: provider.Verifier(&oidc.Config{ClientID: "app"}),
		oauth: oauth2.Config{ClientID: "app", Endpoint: provider.Endpoint(),
			RedirectURL: baseURL + "/callback", Scopes: []string{oidc.ScopeOpenID}},
	}
	revs, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		return nil, err
	}
	p.revs = revs
	enderOpts := []sessionadapter.EnderOption{sessionadapter.WithSessionLifetime(time.Hour)}
	if store != nil {
		enderOpts = append(enderOpts, sessionadapter.WithStore(store))
	}
	if p.ender, err = sessionadapter.NewRevokingEnder(revs, enderOpts...); err != nil {
		return nil, err
	}
	verifier, err := rp.Discover(ctx, issuer, "app")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = verifier.Close() })
	h, err := rp.NewHandler(verifier, p.ender)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	p.logout = h
	return p, nil
}

// exchange redeems the callback's code and verifies its ID token.
func (p *logoutParts) exchange(r *http.Request, pkce, nonce string) (*oidc.IDToken, error) {
	tok, err := p.oauth.Exchange(r.Context(), r.FormValue("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.idTokens.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != nonce {
		return nil, errors.New("bad id token")
	}
	return idt, nil
}

func (p *logoutParts) authURL(state, nonce, pkce string) string {
	return p.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce))
}

func showUser(w http.ResponseWriter, user string) {
	if user == "" {
		fmt.Fprint(w, "Signed out")
		return
	}
	fmt.Fprint(w, "Signed in as "+user)
}

// newSCSApp is examples/scs's wiring with memstore: deletion at logout
// through scsadapter.Deleter, the guard inside LoadAndSave when guarded.
func newSCSApp(t *testing.T, issuer, baseURL string, guarded bool) (http.Handler, error) {
	sm := scs.New()
	mem := memstore.New()
	sm.Store = mem
	del, err := scsadapter.Deleter(mem)
	if err != nil {
		return nil, err
	}
	store, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(del))
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = store.Close() })
	p, err := newLogoutParts(t, issuer, baseURL, store)
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
		http.Redirect(w, r, p.authURL(state, nonce, pkce), http.StatusFound)
	})
	pages.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.FormValue("state") == "" || r.FormValue("state") != sm.PopString(ctx, "state") {
			http.Error(w, "bad state", http.StatusBadRequest)
			return
		}
		idt, err := p.exchange(r, sm.PopString(ctx, "pkce"), sm.PopString(ctx, "nonce"))
		if err != nil {
			http.Error(w, "login failed", http.StatusBadGateway)
			return
		}
		login, err := sessionadapter.LoginFromIDToken(idt)
		if err != nil {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		b, err := scsadapter.Stash(ctx, sm, login)
		if err == nil {
			err = p.ender.Bind(ctx, b)
		}
		if err != nil {
			_ = sm.Destroy(ctx)
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		sm.Put(ctx, "user", login.Subject)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	var h http.Handler = pages
	if guarded {
		guard, err := middleware.Guard(p.revs, scsadapter.Lookup(sm),
			middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
				_ = scsadapter.End(r, sm)
				showUser(w, "")
			}))
		if err != nil {
			return nil, err
		}
		h = guard(pages)
	}
	root := http.NewServeMux()
	root.Handle("/", sm.LoadAndSave(h))
	root.Handle("/backchannel-logout", p.logout)
	return root, nil
}

// newGorillaCookieApp is examples/gorilla's wiring with a CookieStore,
// which the server cannot delete: the revocation and, when guarded, the
// guard are all there is.
func newGorillaCookieApp(t *testing.T, issuer, baseURL string, guarded bool) (http.Handler, error) {
	cookies := sessions.NewCookieStore([]byte(rand.Text() + rand.Text()))
	p, err := newLogoutParts(t, issuer, baseURL, nil)
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
		http.Redirect(w, r, p.authURL(state, nonce, pkce), http.StatusFound)
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
		idt, err := p.exchange(r, pkce, nonce)
		if err != nil {
			http.Error(w, "login failed", http.StatusBadGateway)
			return
		}
		login, err := sessionadapter.LoginFromIDToken(idt)
		if err != nil {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		s := sessions.NewSession(cookies, "session")
		s.Options = &sessions.Options{Path: "/", MaxAge: 3600, HttpOnly: true}
		s.IsNew = true
		gorillaadapter.Stash(s, login)
		s.Values["user"] = login.Subject
		if err := s.Save(r, w); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	var h http.Handler = pages
	if guarded {
		guard, err := middleware.Guard(p.revs, gorillaadapter.Lookup(cookies, "session"),
			middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
				_ = gorillaadapter.End(w, r, cookies, "session")
				showUser(w, "")
			}))
		if err != nil {
			return nil, err
		}
		h = guard(pages)
	}
	root := http.NewServeMux()
	root.Handle("/", h)
	root.Handle("/backchannel-logout", p.logout)
	return root, nil
}
