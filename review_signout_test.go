package bclogout_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/fakeop"
)

// TestReviewSignOutStateCookiePathEscaped: SignOut scopes its state
// cookie to the PostLogoutRedirectURI's path, but takes the decoded
// url.URL.Path. A browser matches a cookie's Path against the request's
// path as sent, escaped (RFC 6265 §5.1.4), so for a path with an escape
// (/d%C3%A9connexion, /signed%20out) the cookie is never sent back and
// FinishSignOut refuses every genuine return; net/http even drops the
// non-ASCII bytes, leaving Path=/dconnexion.
func TestReviewSignOutStateCookiePathEscaped(t *testing.T) {
	op := fakeop.New(t)
	const path = "/d%C3%A9connexion"
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions(),
		PostLogoutRedirectURI: "http://127.0.0.1:8080" + path,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close(context.Background()) })
	w := httptest.NewRecorder()
	if err := bl.SignOut(w, httptest.NewRequest(http.MethodPost, "/signout", nil), bclogout.SignOutHint{}); err != nil {
		t.Fatalf("SignOut: %v", err)
	}
	for _, c := range w.Result().Cookies() {
		if !strings.HasPrefix(c.Name, "bclogout_signout_") {
			continue
		}
		if c.Path != path {
			t.Errorf("state cookie %s has Path %q; the browser comes back on %q and will not send it", c.Name, c.Path, path)
		}
		return
	}
	t.Fatal("SignOut set no state cookie")
}

// TestSignOutThenSingleSignOn (from the outside review): after SignOut,
// a single sign-on in an OP session that lives on (no end_session_endpoint,
// or the user declined at the OP) is refused within the OP clock skew
// after the signed-out login, since a sid revocation also ends logins up
// to a minute after its date (fail closed), and accepted after it.
// SignOut dates the revocation at the login's own iat, so that a store
// with any tolerance ends this login and deletes its binding.
func TestSignOutThenSingleSignOn(t *testing.T) {
	a := newApp(t, bclogout.Config{})
	first := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	w := httptest.NewRecorder()
	if err := a.Login(w, r, idToken(a.op.Issuer(), "alice", "sid-a", first)); err != nil {
		t.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	r = httptest.NewRequest(http.MethodPost, "/signout", nil)
	r.AddCookie(cookie)
	if err := a.SignOut(httptest.NewRecorder(), r, bclogout.SignOutHint{}); err != nil && !errors.Is(err, bclogout.ErrNoEndSession) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after time.Duration
		want  error
	}{
		{20 * time.Second, bclogout.ErrLoggedOut},
		{90 * time.Second, nil},
	} {
		r = httptest.NewRequest(http.MethodGet, "/callback", nil)
		err := a.Login(httptest.NewRecorder(), r, idToken(a.op.Issuer(), "alice", "sid-a", first.Add(tc.after)))
		if !errors.Is(err, tc.want) {
			t.Errorf("single sign-on %v after the signed-out login: %v, want %v", tc.after, err, tc.want)
		}
	}
}
