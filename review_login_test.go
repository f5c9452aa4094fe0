package bclogout_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/sessionadapter"
)

// downBindings is a bindings store that is down for Bind.
type downBindings struct{ sessionadapter.Store }

func (downBindings) Bind(context.Context, sessionadapter.Binding) error {
	return errors.New("bindings store down")
}

// TestReviewFailedLoginLeavesSessionSignedIn: Login stashes the login in
// the session (and gorilla's Stash saves it, scs's LoadAndSave saves it
// when the callback returns) before Bind; when Bind fails with anything
// but ErrRevoked (the bindings store or the revocations are down), Login
// returns the error and the app answers it, yet the session it leaves
// holds the login: the user the app told "login failed" is signed in,
// with a session no logout can delete (it was never bound), and one whose
// login was never checked against the revocations.
func TestReviewFailedLoginLeavesSessionSignedIn(t *testing.T) {
	mem, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, bclogout.Config{Bindings: downBindings{mem}})
	w := a.do(t, http.MethodGet, "/callback?sub=alice&sid=s1", nil)
	if w.Code != http.StatusForbidden {
		t.Fatalf("precondition: the callback answers Login's error: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" && c.MaxAge >= 0 && c.Value != "" {
			if got := a.page(t, c); got != "anonymous" {
				t.Fatalf("after Login failed, the session it left is %q", got)
			}
		}
	}
}
