package readme

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/bclogout/bclogout/internal/opkit"
)

// TestQuickStart: the README's quick start, as written, signs the user
// out and keeps them out. Its callback line binds the session; the OP's
// logout token for that session deletes its data; and when a request that
// loaded the session before the logout saves it afterwards (here: the
// session's data written back into the store), the guard still ends it.
// Without the guard, the last step fails: the test proves the wiring, not
// only the deletion.
func TestQuickStart(t *testing.T) {
	for _, guarded := range []bool{true, false} {
		t.Run(fmt.Sprintf("guard=%v", guarded), func(t *testing.T) {
			signedOut := runQuickStart(t, guarded)
			if guarded && !signedOut {
				t.Error("after the OP's logout and a write-back, the quick start still serves the session")
			}
			if !guarded && signedOut {
				t.Error("without the guard the write-back was caught: the test does not prove the guard")
			}
		})
	}
}

// runQuickStart signs alice in twice (two OP sessions), ends one at the
// OP, writes that session's data back into the store as a request in
// flight would, and reports whether its next request is signed out. It
// also checks that the other OP session is untouched.
func runQuickStart(t *testing.T, guarded bool) (signedOut bool) {
	op := opkit.New(t)
	sm := scs.New()
	store := memstore.NewWithCleanupInterval(0)
	sm.Store = store
	provider, err := oidc.NewProvider(t.Context(), op.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "my-app"})

	// The app's routes: its page and its login callback, where
	// /callback?id_token= stands for the callback after the code
	// exchange; the README's lines take it from there.
	a := &app{sm: sm}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, sm.GetString(r.Context(), "user"))
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		idToken, err := verifier.Verify(r.Context(), r.FormValue("id_token"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.callback(w, r, r.FormValue("id_token"))
		sm.Put(r.Context(), "user", idToken.Subject)
	})
	handler, err := a.handler(t.Context(), op.Issuer(), mux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.shutdown(context.Background(), &http.Server{}); err != nil {
			t.Error(err)
		}
	})
	if !guarded { // the mistake the test must catch: the routes without the guard
		handler = a.logout.Endpoints(sm.LoadAndSave(mux))
	}
	// As the README says, Go's CSRF protection lets the OP's POST
	// through: it has neither Origin nor Sec-Fetch-Site.
	srv := httptest.NewServer(http.NewCrossOriginProtection().Handler(handler))
	t.Cleanup(srv.Close)
	if err := op.RegisterClient(opkit.Client{ID: "my-app", BackchannelLogoutURI: srv.URL + "/backchannel-logout"}); err != nil {
		t.Fatal(err)
	}

	raws := map[string]string{} // the raw ID token of each login, by sid
	login := func(sid string) *http.Cookie {
		t.Helper()
		raw, err := signIDToken(op, "my-app", "alice", sid)
		if err != nil {
			t.Fatal(err)
		}
		raws[sid] = raw
		resp, err := http.Get(srv.URL + "/callback?id_token=" + raw)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
			t.Fatalf("callback: %s, cookies %v", resp.Status, resp.Cookies())
		}
		return resp.Cookies()[0]
	}
	page := func(c *http.Cookie) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		req.AddCookie(c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b [64]byte
		n, _ := resp.Body.Read(b[:])
		return string(b[:n])
	}

	sid, err := op.NewSession("alice", "my-app")
	if err != nil {
		t.Fatal(err)
	}
	otherSID, _ := op.NewSession("alice", "my-app")
	cookie, other := login(sid), login(otherSID)
	if got := page(cookie); got != "alice" {
		t.Fatalf("signed in: %q", got)
	}
	saved, found, err := store.Find(cookie.Value)
	if err != nil || !found {
		t.Fatalf("the session is not in the store: %v", err)
	}
	if _, err := op.EndSession(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := store.Find(cookie.Value); found {
		t.Error("the logout left the session's data in the store")
	}
	// A request that loaded the session before the logout saves it now.
	if err := store.Commit(cookie.Value, saved, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := page(other); got != "alice" {
		t.Errorf("the user's other OP session: %q", got)
	}
	signedOut = page(cookie) != "alice"

	// The Sign out button: the session ends here, and the browser goes to
	// the OP with the ID token Login kept as id_token_hint.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/signout", nil)
	req.AddCookie(other)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("id_token_hint") != raws[otherSID] {
		t.Errorf("Sign out: %s to %s, want 303 to the OP with the id_token_hint", resp.Status, loc)
	}
	if got := page(other); got == "alice" {
		t.Error("after Sign out the session is still signed in")
	}
	return signedOut
}

// signIDToken mints the ID token the OP's token endpoint would give.
func signIDToken(op *opkit.OP, aud, sub, sid string) (string, error) {
	now := time.Now()
	return (&opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
		"iss": op.Issuer(), "aud": aud, "sub": sub, "sid": sid,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}}).Sign(op.Key())
}
