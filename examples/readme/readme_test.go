package readme

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/bclogout/bclogout/internal/opkit"
)

// TestQuickStart: the README's quick start, as written, signs the user
// out. A session stashed by its callback code is ended at its next request
// once the OP's logout token for that session arrived.
func TestQuickStart(t *testing.T) {
	op := opkit.New(t)
	sm := scs.New() // memstore
	provider, err := oidc.NewProvider(t.Context(), op.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "app"})

	pages := http.NewServeMux()
	pages.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, sm.GetString(r.Context(), "user"))
	})
	// /callback?id_token= stands for the login callback after the code
	// exchange; the README's lines take it from there.
	pages.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		idToken, err := verifier.Verify(r.Context(), r.FormValue("id_token"))
		if err == nil {
			err = quickStartCallback(r, sm, idToken)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sm.Put(r.Context(), "user", idToken.Subject)
	})
	h, err := withLogout(t.Context(), op.Issuer(), "app", sm, pages)
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)
	if err := op.RegisterClient(opkit.Client{ID: "app", BackchannelLogoutURI: app.URL + "/backchannel-logout"}); err != nil {
		t.Fatal(err)
	}

	login := func(sid string) *http.Cookie {
		t.Helper()
		now := time.Now()
		raw, err := (&opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
			"iss": op.Issuer(), "aud": "app", "sub": "alice", "sid": sid,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}}).Sign(op.Key())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(app.URL + "/callback?id_token=" + raw)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
			t.Fatalf("callback: %s, cookies %v", resp.Status, resp.Cookies())
		}
		return resp.Cookies()[0]
	}
	page := func(c *http.Cookie) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
		req.AddCookie(c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b [64]byte
		n, _ := resp.Body.Read(b[:])
		return resp.StatusCode, string(b[:n])
	}

	sid, err := op.NewSession("alice", "app")
	if err != nil {
		t.Fatal(err)
	}
	otherSID, _ := op.NewSession("alice", "app")
	cookie, other := login(sid), login(otherSID)
	if code, body := page(cookie); code != http.StatusOK || body != "alice" {
		t.Fatalf("signed in: %d %q", code, body)
	}
	// The logout token's iat is not before the ID token's (both in whole
	// seconds, on the OP's clock): the login was not after the logout.
	if _, err := op.EndSession(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	if code, _ := page(cookie); code != http.StatusUnauthorized {
		t.Errorf("after the OP's logout: %d, want 401", code)
	}
	if code, body := page(other); code != http.StatusOK || body != "alice" {
		t.Errorf("the user's other OP session: %d %q", code, body)
	}
}
