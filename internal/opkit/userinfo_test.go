package opkit_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/testclock"
)

type testClock = testclock.Clock

func newTestClock() *testClock {
	return testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
}

// signIn runs the code flow for a registered confidential client in the
// browser br as user and returns the ID token and access token.
func signIn(t *testing.T, op *opkit.OP, br *http.Client, clientID, secret, redirect, user string) (idToken, access string) {
	t.Helper()
	resp, _ := do(t, br, form(t, http.MethodPost, op.Issuer()+"/authorize", url.Values{
		"client_id": {clientID}, "redirect_uri": {redirect}, "state": {"st"},
		"response_type": {"code"}, "scope": {"openid"}, "username": {user},
	}))
	code := codeFrom(t, resp, redirect, "st")
	resp, body := do(t, br, form(t, http.MethodPost, op.Issuer()+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {clientID}, "client_secret": {secret},
	}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token %d: %s", resp.StatusCode, body)
	}
	return jsonField(t, body, "id_token"), jsonField(t, body, "access_token")
}

func TestUserInfo(t *testing.T) {
	clock := newTestClock()
	op := opkit.New(t, opkit.WithClock(clock.Now))
	const redirect = "http://app.example/cb"
	if err := op.RegisterClient(opkit.Client{ID: "app", Secret: "s", RedirectURIs: []string{redirect}}); err != nil {
		t.Fatal(err)
	}
	_, alice := signIn(t, op, browser(t), "app", "s", redirect, "alice")
	_, bob := signIn(t, op, browser(t), "app", "s", redirect, "bob")
	_, ended := signIn(t, op, browser(t), "app", "s", redirect, "carol")
	for _, sid := range op.Sessions("carol") {
		if _, err := op.EndSession(t.Context(), sid); err != nil {
			t.Fatal(err)
		}
	}

	userinfo := op.Issuer() + "/userinfo"
	withHeader := func(method, auth string) func() *http.Request {
		return func() *http.Request {
			r, err := http.NewRequest(method, userinfo, nil)
			if err != nil {
				t.Fatal(err)
			}
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			return r
		}
	}
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		want       string // sub, or the WWW-Authenticate error
	}{
		{"GET bearer header", withHeader(http.MethodGet, "Bearer "+alice), http.StatusOK, "alice"},
		{"scheme case-insensitive", withHeader(http.MethodGet, "bearer "+bob), http.StatusOK, "bob"},
		{"POST bearer header", withHeader(http.MethodPost, "Bearer "+alice), http.StatusOK, "alice"},
		{"POST form body", func() *http.Request {
			return form(t, http.MethodPost, userinfo, url.Values{"access_token": {bob}})
		}, http.StatusOK, "bob"},
		{"no token", withHeader(http.MethodGet, ""), http.StatusUnauthorized, "invalid_token"},
		{"unknown token", withHeader(http.MethodGet, "Bearer nope"), http.StatusUnauthorized, "invalid_token"},
		{"basic scheme", withHeader(http.MethodGet, "Basic "+alice), http.StatusUnauthorized, "invalid_token"},
		{"session ended", withHeader(http.MethodGet, "Bearer "+ended), http.StatusUnauthorized, "invalid_token"},
		{"token in header and body", func() *http.Request {
			r := form(t, http.MethodPost, userinfo, url.Values{"access_token": {bob}})
			r.Header.Set("Authorization", "Bearer "+alice)
			return r
		}, http.StatusBadRequest, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, http.DefaultClient, tt.req())
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if tt.wantStatus != http.StatusOK {
				if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer error="`+tt.want+`"`; got != want {
					t.Errorf("WWW-Authenticate %q, want %q", got, want)
				}
				return
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"sub": tt.want, "name": tt.want, "preferred_username": tt.want}
			if len(got) != len(want) || got["sub"] != want["sub"] || got["name"] != want["name"] ||
				got["preferred_username"] != want["preferred_username"] {
				t.Errorf("claims %v, want %v", got, want)
			}
		})
	}

	// Access tokens expire with the ID token issued beside them.
	clock.Advance(time.Hour - time.Second)
	if resp, body := do(t, http.DefaultClient, withHeader(http.MethodGet, "Bearer "+alice)()); resp.StatusCode != http.StatusOK {
		t.Fatalf("just before expiry: %d %s", resp.StatusCode, body)
	}
	clock.Advance(time.Second)
	if resp, _ := do(t, http.DefaultClient, withHeader(http.MethodGet, "Bearer "+alice)()); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("expired token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
