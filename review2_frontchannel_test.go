package bclogout_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/sessionadapter"
)

// fcReplica is one app process: its own RP (default in-memory bindings)
// over session data and revocations that may be shared with others.
func fcReplica(t *testing.T, op *fakeop.OP, s sessionadapter.Sessions, revs sessionadapter.Revocations) *bclogout.RP {
	t.Helper()
	bl, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, Revocations: revs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close(context.Background()) })
	return bl
}

func fcLogin(t *testing.T, bl *bclogout.RP, iss, sid string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(iss, "alice", sid, time.Now().Add(-time.Second))); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return w.Result().Cookies()[0]
}

func fcFrame(bl *bclogout.RP, iss, sid string) int {
	w := httptest.NewRecorder()
	bl.FrontChannel().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?"+url.Values{"iss": {iss}, "sid": {sid}}.Encode(), nil))
	return w.Code
}

func fcPage(bl *bclogout.RP, s *memSessions, c *http.Cookie) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.get(r, "login"); ok {
			io.WriteString(w, "signed in")
			return
		}
		io.WriteString(w, "anonymous")
	})).ServeHTTP(w, r)
	return w.Body.String()
}

// TestReview2FrontChannelOtherReplicaLost: two replicas share the
// session data and the revocations (Redis in production; one in-memory
// set stands for it) and keep the default in-memory bindings, as the
// README's table advises for FilesystemStore or CookieStore ("keep
// revocations where a restart does not lose them"). The login was bound
// at replica A (or before a restart); the OP's frame reaches replica B,
// whose bindings do not know the sid: B answers 200 "Signed out" and
// revokes nothing, so the session is still served everywhere. Before
// 4f257e5 the revocation was recorded and every replica's guard ended it.
func TestReview2FrontChannelOtherReplicaLost(t *testing.T) {
	op := fakeop.New(t)
	s := newMemSessions()
	revs, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	a, b := fcReplica(t, op, s, revs), fcReplica(t, op, s, revs)
	c := fcLogin(t, a, op.Issuer(), "sid-a")
	if code := fcFrame(b, op.Issuer(), "sid-a"); code != http.StatusOK {
		t.Fatalf("front channel at B: %d", code)
	}
	if got := fcPage(a, s, c); got != "anonymous" {
		t.Fatalf("after a genuine front-channel logout answered 200 by replica B, replica A still serves the session: %q", got)
	}
}

// flakyDeleteSessions is a server-side session library whose store fails
// to delete (Redis or the database briefly unavailable).
type flakyDeleteSessions struct{ *memSessions }

func (flakyDeleteSessions) DeleteSession(context.Context, string) error {
	return errors.New("session store unavailable")
}

// TestReview2FrontChannelDeleteFailureLosesLogout: FrontChannel now
// deletes the bound sessions' data first and revokes only when that
// succeeded (err == nil && n > 0). When the session store cannot delete,
// nothing is revoked: the frame gets 500, the OP never retries a
// front-channel logout, and the session lives on. RevokingEnder (and the
// back channel) revoke first, precisely so that a failed deletion never
// leaves a session unrevoked.
func TestReview2FrontChannelDeleteFailureLosesLogout(t *testing.T) {
	op := fakeop.New(t)
	s := flakyDeleteSessions{newMemSessions()}
	bl := fcReplica(t, op, s, nil)
	c := fcLogin(t, bl, op.Issuer(), "sid-a")
	code := fcFrame(bl, op.Issuer(), "sid-a")
	if got := fcPage(bl, s.memSessions, c); got != "anonymous" {
		t.Fatalf("front-channel logout answered %d (no retry will come), and the session is still served: %q", code, got)
	}
}

// frameDuringLogin delivers the OP's front-channel frame while a login
// callback of the same OP session is between Stash and Bind.
type frameDuringLogin struct {
	*memSessions
	frame func()
}

func (f frameDuringLogin) Stash(w http.ResponseWriter, r *http.Request, l sessionadapter.Login) (sessionadapter.Binding, error) {
	b, err := f.memSessions.Stash(w, r, l)
	f.frame()
	return b, err
}

// TestReview2FrontChannelDuringLoginLost: the user signs out at the OP
// while this app's login callback (ID token issued before) is in
// flight. The frame finds no binding yet, so nothing is revoked, and the
// Bind that follows finds no revocation: Login succeeds into an OP
// session that has ended. RevokingEnder's order (revoke, then look for
// bindings; Bind records, then checks) closed this race; the n > 0 gate
// reopens it.
func TestReview2FrontChannelDuringLoginLost(t *testing.T) {
	op := fakeop.New(t)
	s := &frameDuringLogin{memSessions: newMemSessions()}
	bl := fcReplica(t, op, s, nil)
	s.frame = func() { fcFrame(bl, op.Issuer(), "sid-a") }
	w := httptest.NewRecorder()
	err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second)))
	if !errors.Is(err, bclogout.ErrLoggedOut) {
		c := w.Result().Cookies()[0]
		t.Fatalf("Login = %v (want ErrLoggedOut); the login raced a front-channel logout of its OP session and is %q", err, fcPage(bl, s.memSessions, c))
	}
}
