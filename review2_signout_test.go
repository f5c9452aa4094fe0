package bclogout_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/sessionadapter"
)

// exactRevocations is a conforming Revocations (sessionadapter's
// interface: "recorded at or after b.LoginTime less a clock-skew
// tolerance (a minute by default …)") whose tolerance is zero: an OP
// with one clock, or an app's own store.
type exactRevocations struct {
	mu sync.Mutex
	at map[[2]string]time.Time
}

func (e *exactRevocations) Revoke(_ context.Context, l sessionadapter.Logout, _ time.Duration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	at := l.IssuedAt
	if at.IsZero() {
		at = time.Now()
	}
	k := [2]string{l.Issuer, l.SessionID}
	if cur, ok := e.at[k]; !ok || at.After(cur) {
		e.at[k] = at
	}
	return nil
}

func (e *exactRevocations) Revoked(_ context.Context, b sessionadapter.Binding) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.at[[2]string{b.Issuer, b.SessionID}]
	return ok && !at.Before(b.LoginTime), nil
}

// TestReview2SignOutRevocationMissesLoginWithOtherSkew: SignOut dates
// its revocation defaults.SIDClockSkew before the login's iat, betting
// that the Revocations add back exactly that much. With Config.Revocations
// whose tolerance is smaller (zero here), the revocation predates the
// login and ends nothing: the other tab's request in flight writes the
// session back and it is served again, at every replica.
func TestReview2SignOutRevocationMissesLoginWithOtherSkew(t *testing.T) {
	a := newApp(t, bclogout.Config{Revocations: &exactRevocations{at: map[[2]string]time.Time{}}})
	alice := a.login(t, "alice", "sid-a")
	saved := a.sessions.saved(alice.Value) // another tab's request in flight
	r := httptest.NewRequest(http.MethodPost, "/signout", nil)
	r.AddCookie(alice)
	if err := a.SignOut(httptest.NewRecorder(), r, bclogout.SignOutHint{}); err != nil && !errors.Is(err, bclogout.ErrNoEndSession) {
		t.Fatal(err)
	}
	a.sessions.writeBack(alice.Value, saved)
	if got := a.page(t, alice); got != "anonymous" {
		t.Fatalf("after SignOut, the written-back session is %q", got)
	}
}

// TestReview2SignOutLeavesItsBinding: the bindings store spares a binding
// whose login is after the logout's iat; SignOut's iat is now a minute
// before the login's, so the store neither forgets the signed-out
// session's binding nor deletes its data (only Sessions.End for the
// request's own session does): each sign-out leaves a binding in memory
// or Redis for the whole session lifetime (30 days), and SignOut's
// "deletes the data of the sessions bound to it" no longer holds.
func TestReview2SignOutLeavesItsBinding(t *testing.T) {
	mem, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, bclogout.Config{Bindings: mem})
	alice := a.login(t, "alice", "sid-a")
	r := httptest.NewRequest(http.MethodPost, "/signout", nil)
	r.AddCookie(alice)
	if err := a.SignOut(httptest.NewRecorder(), r, bclogout.SignOutHint{}); err != nil && !errors.Is(err, bclogout.ErrNoEndSession) {
		t.Fatal(err)
	}
	if n, err := mem.EndSessions(t.Context(), sessionadapter.Logout{Issuer: a.op.Issuer(), SessionID: "sid-a"}); err != nil || n != 0 {
		t.Fatalf("after SignOut the bindings store still held %d binding(s) of the signed-out OP session (err %v)", n, err)
	}
}
