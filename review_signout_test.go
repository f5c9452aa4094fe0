package bclogout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
