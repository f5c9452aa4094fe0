package opkit_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
)

// payload reads a JWS's claims without verifying it.
func payload(t *testing.T, compact string) map[string]any {
	t.Helper()
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", compact)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEndSessionIDTokenHint drives end_session as RP libraries call it
// (RP-Initiated Logout 1.0 §2, §3): an id_token_hint, a
// post_logout_redirect_uri and state, usually no client_id, and often from
// a browser the OP's cookie does not reach.
func TestEndSessionIDTokenHint(t *testing.T) {
	clock := newTestClock()
	op := opkit.New(t, opkit.WithClock(clock.Now))
	rpApp, rpOther := newRP(t), newRP(t)
	const (
		appCB, appBye     = "http://app.example/cb", "http://app.example/bye"
		otherCB, otherBye = "http://other.example/cb", "http://other.example/bye"
	)
	for _, c := range []opkit.Client{
		{ID: "app", Secret: "s", RedirectURIs: []string{appCB}, PostLogoutRedirectURIs: []string{appBye}, BackchannelLogoutURI: rpApp.url()},
		{ID: "other", Secret: "o", RedirectURIs: []string{otherCB}, PostLogoutRedirectURIs: []string{otherBye}, BackchannelLogoutURI: rpOther.url()},
	} {
		if err := op.RegisterClient(c); err != nil {
			t.Fatal(err)
		}
	}

	// login is one row's session: alice signed in to app in her own
	// browser, then, by single sign-on, to other.
	type login struct {
		br      *http.Client
		idToken string // issued to app
		sid     string
	}
	signInBoth := func(t *testing.T) login {
		br := browser(t)
		idToken, _ := signIn(t, op, br, "app", "s", appCB, "alice")
		resp, _ := do(t, br, form(t, http.MethodPost, op.Issuer()+"/authorize", url.Values{
			"client_id": {"other"}, "redirect_uri": {otherCB}, "response_type": {"code"}, "scope": {"openid"}, "username": {"alice"},
		}))
		code := codeFrom(t, resp, otherCB, "")
		if resp, body := do(t, br, form(t, http.MethodPost, op.Issuer()+"/token", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {otherCB},
			"client_id": {"other"}, "client_secret": {"o"},
		})); resp.StatusCode != http.StatusOK {
			t.Fatalf("token for other: %d %s", resp.StatusCode, body)
		}
		sid, _ := payload(t, idToken)["sid"].(string)
		return login{br: br, idToken: idToken, sid: sid}
	}
	// forge signs claims like the hint's with key, or with the OP's
	// current key when key is nil, after edit.
	forge := func(t *testing.T, l login, key *opkit.Key, edit func(*opkit.Token)) string {
		tok := &opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: payload(t, l.idToken)}
		if edit != nil {
			edit(tok)
		}
		if key == nil {
			key = op.Key()
		}
		s, err := tok.Sign(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	tests := []struct {
		name string
		// params builds the request; the hint defaults to the login's ID
		// token.
		params     func(t *testing.T, l login) url.Values
		withCookie bool
		wantStatus int
		wantLoc    string // Location of a 302
		wantEnded  bool   // the login's OP session ended, both RPs told
	}{
		{"hint without cookie ends its sid", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {l.idToken}, "post_logout_redirect_uri": {appBye}, "state": {"st-1"}}
		}, false, http.StatusFound, appBye + "?state=st-1", true},
		{"hint with matching client_id", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {l.idToken}, "client_id": {"app"}, "post_logout_redirect_uri": {appBye}}
		}, false, http.StatusFound, appBye, true},
		{"hint and cookie, POST", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {l.idToken}, "post_logout_redirect_uri": {appBye}, "state": {"x y"}}
		}, true, http.StatusFound, appBye + "?state=x+y", true},
		{"expired hint is fine", func(t *testing.T, l login) url.Values {
			clock.Advance(48 * time.Hour)
			return url.Values{"id_token_hint": {l.idToken}, "post_logout_redirect_uri": {appBye}}
		}, false, http.StatusFound, appBye, true},
		{"hint signed by a retired key", func(t *testing.T, l login) url.Values {
			if _, err := op.Rotate(); err != nil {
				t.Fatal(err)
			}
			op.RetireOld()
			return url.Values{"id_token_hint": {l.idToken}, "post_logout_redirect_uri": {appBye}}
		}, false, http.StatusFound, appBye, true},
		{"hint with an array aud", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {forge(t, l, nil, func(tok *opkit.Token) { tok.Claims["aud"] = []string{"app", "other"} })},
				"client_id": {"other"}, "post_logout_redirect_uri": {otherBye}}
		}, false, http.StatusFound, otherBye, true},
		// As Hydra, Keycloak and node oidc-provider do, a URI the client
		// did not register is an error, not a sign-out page: an app's
		// Sign out test that forgot to register it fails there, rather
		// than passing on the OP's own "Signed out" page.
		{"post-logout URI of a client the hint is not for", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {l.idToken}, "post_logout_redirect_uri": {otherBye}}
		}, false, http.StatusBadRequest, "", false},
		{"unregistered post-logout URI", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {l.idToken}, "post_logout_redirect_uri": {"http://evil.example/"}}
		}, true, http.StatusBadRequest, "", false},

		{"client_id not the hint's aud", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {l.idToken}, "client_id": {"other"}, "post_logout_redirect_uri": {otherBye}}
		}, true, http.StatusBadRequest, "", false},
		{"tampered hint", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {opkit.Tamper(l.idToken)}, "post_logout_redirect_uri": {appBye}}
		}, true, http.StatusBadRequest, "", false},
		{"hint signed by another key with the OP's kid", func(t *testing.T, l login) url.Values {
			other, err := opkit.GenerateKey("RS256", op.Key().ID)
			if err != nil {
				t.Fatal(err)
			}
			return url.Values{"id_token_hint": {forge(t, l, other, nil)}}
		}, true, http.StatusBadRequest, "", false},
		{"hint with alg none", func(t *testing.T, l login) url.Values {
			tok := &opkit.Token{Header: map[string]any{"kid": op.Key().ID}, Claims: payload(t, l.idToken)}
			return url.Values{"id_token_hint": {tok.Unsigned()}}
		}, true, http.StatusBadRequest, "", false},
		{"hint HS256 keyed with the OP's public key", func(t *testing.T, l login) url.Values {
			tok := &opkit.Token{Header: map[string]any{"kid": op.Key().ID}, Claims: payload(t, l.idToken)}
			pub, _ := json.Marshal(op.Key().PublicJWK())
			s, err := tok.SignHMAC("HS256", pub)
			if err != nil {
				t.Fatal(err)
			}
			return url.Values{"id_token_hint": {s}}
		}, true, http.StatusBadRequest, "", false},
		{"hint from another issuer", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {forge(t, l, nil, func(tok *opkit.Token) { tok.Claims["iss"] = "https://elsewhere.example" })}}
		}, true, http.StatusBadRequest, "", false},
		{"a logout token as hint", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {op.LogoutToken("app", "alice", l.sid)}}
		}, true, http.StatusBadRequest, "", false},
		{"hint with crit", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {forge(t, l, nil, func(tok *opkit.Token) { tok.Header["crit"] = []string{"exp"} })}}
		}, true, http.StatusBadRequest, "", false},
		{"garbage hint", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {"not.a.jwt"}}
		}, true, http.StatusBadRequest, "", false},
		{"JWE-shaped hint", func(t *testing.T, l login) url.Values {
			return url.Values{"id_token_hint": {"a.b.c.d.e"}}
		}, true, http.StatusBadRequest, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := signInBoth(t)
			beforeApp, beforeOther := len(rpApp.got()), len(rpOther.got())
			client := browser(t) // no OP cookie
			var req *http.Request
			if tt.withCookie {
				client = l.br
				req = form(t, http.MethodPost, op.Issuer()+"/end_session", tt.params(t, l))
			} else {
				var err error
				req, err = http.NewRequest(http.MethodGet, op.Issuer()+"/end_session?"+tt.params(t, l).Encode(), nil)
				if err != nil {
					t.Fatal(err)
				}
			}
			resp, body := do(t, client, req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Location"); got != tt.wantLoc {
				t.Errorf("Location %q, want %q", got, tt.wantLoc)
			}
			open := slices.Contains(op.Sessions("alice"), l.sid)
			if open == tt.wantEnded {
				t.Errorf("session open = %v, want ended = %v", open, tt.wantEnded)
			}
			told := len(rpApp.got()) - beforeApp + len(rpOther.got()) - beforeOther
			if want := map[bool]int{true: 2, false: 0}[tt.wantEnded]; told != want {
				t.Errorf("%d logout tokens delivered, want %d", told, want)
			}
			if !tt.wantEnded {
				if _, err := op.EndSession(t.Context(), l.sid); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestEndSessionHintForAnotherSession checks that a browser's own session
// is what ends when the hint names another one: the fake OP never asks.
func TestEndSessionHintForAnotherSession(t *testing.T) {
	op := opkit.New(t)
	const cb, bye = "http://app.example/cb", "http://app.example/bye"
	if err := op.RegisterClient(opkit.Client{ID: "app", Secret: "s", RedirectURIs: []string{cb}, PostLogoutRedirectURIs: []string{bye}}); err != nil {
		t.Fatal(err)
	}
	alice, bob := browser(t), browser(t)
	signIn(t, op, alice, "app", "s", cb, "alice")
	bobToken, _ := signIn(t, op, bob, "app", "s", cb, "bob")
	resp, _ := do(t, alice, form(t, http.MethodPost, op.Issuer()+"/end_session", url.Values{
		"id_token_hint": {bobToken}, "post_logout_redirect_uri": {bye},
	}))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != bye {
		t.Fatalf("end_session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := op.Sessions("alice"); len(got) != 0 {
		t.Errorf("alice's session still open: %v", got)
	}
	if got := op.Sessions("bob"); len(got) != 1 {
		t.Errorf("bob's sessions = %v, want his one session untouched", got)
	}
}

// A post_logout_redirect_uri sent with neither id_token_hint nor
// client_id, from a browser the OP has no session for (its session
// already ended, say), names no client whose registration could allow it
// (RP-Initiated Logout 1.0 §3). It is refused for that: "not registered"
// would send the app's author to check a registration that is there.
func TestEndSessionPostLogoutURIWithoutClient(t *testing.T) {
	op := opkit.New(t)
	const cb, bye = "http://app.example/cb", "http://app.example/bye"
	if err := op.RegisterClient(opkit.Client{ID: "app", Secret: "s", RedirectURIs: []string{cb}, PostLogoutRedirectURIs: []string{bye}}); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, op.Issuer()+"/end_session?"+url.Values{"post_logout_redirect_uri": {bye}}.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, browser(t), req)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "id_token_hint or client_id") {
		t.Errorf("refusal does not say the request names no client: %s", body)
	}
}
