package scsadapter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// keepApp is one process of an scs app wired as the README's per-store
// table says: a Memory index deleting through scsadapter.New's DeleteSession, under a
// RevokingEnder with the default keep, and the guard inside LoadAndSave.
type keepApp struct {
	http.Handler
	sm    *scs.SessionManager
	ender sessionadapter.Store
	index sessionadapter.Store
}

// newKeepApp starts a process over store (which outlives it, as a
// database does) whose /callback logs alice in at loginAt, /step-up renews
// the token and /me names the signed-in subject.
func newKeepApp(t *testing.T, store scs.Store, clock *testclock.Clock, loginAt time.Time) *keepApp {
	t.Helper()
	sm := scs.New()
	sm.Store = store
	sess := scsadapter.New(sm)
	index, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(sess.(sessionadapter.Deleter)), sessionadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(index))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := middleware.Guard(rev, sess.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		l := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "sid-1", LoginTime: loginAt}
		b, err := sess.Stash(w, r, l)
		if err == nil {
			err = ender.Bind(r.Context(), b) // through the RevokingEnder, as documented
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/step-up", func(w http.ResponseWriter, r *http.Request) {
		// A privilege change: scs says to renew the token.
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "mfa", true)
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, sm.GetString(r.Context(), "bclogout.sub"))
	})
	return &keepApp{Handler: sm.LoadAndSave(guard(mux)), sm: sm, ender: ender, index: index}
}

// do requests path with cookie c and returns the answer and the session
// cookie to send next.
func (a *keepApp) do(t *testing.T, path string, c *http.Cookie) (*httptest.ResponseRecorder, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	for _, nc := range w.Result().Cookies() {
		if nc.Name == a.sm.Cookie.Name {
			return w, nc
		}
	}
	return w, c
}

// A logout must keep a session ended even where deletion cannot find it
// (revocations were once kept only for the in-flight window): after a RenewToken moved the session to a token its
// binding does not name, and after a restart forgot the in-memory
// bindings of sessions that live on in the database. The revocation, kept
// for the session lifetime, ends them at their next request, long after
// the window and the second deletion.
func TestRevocationOutlivesIncompleteBindings(t *testing.T) {
	tests := []struct {
		name  string
		after func(t *testing.T, a *keepApp, store scs.Store, clock *testclock.Clock, loginAt time.Time, cookie *http.Cookie) (*keepApp, *http.Cookie)
	}{
		{name: "token renewed after login", after: func(t *testing.T, a *keepApp, _ scs.Store, _ *testclock.Clock, _ time.Time, cookie *http.Cookie) (*keepApp, *http.Cookie) {
			w, cookie := a.do(t, "/step-up", cookie)
			if w.Code != http.StatusOK {
				t.Fatalf("step-up: %d %s", w.Code, w.Body)
			}
			return a, cookie
		}},
		{name: "restart forgets bindings", after: func(t *testing.T, _ *keepApp, store scs.Store, clock *testclock.Clock, loginAt time.Time, cookie *http.Cookie) (*keepApp, *http.Cookie) {
			a := newKeepApp(t, store, clock, loginAt) // a deploy: same database, new process
			if w, _ := a.do(t, "/me", cookie); w.Body.String() != "alice" {
				t.Fatalf("precondition: the session survives the restart, got %q", w.Body)
			}
			return a, cookie
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := testclock.New(time.Now())
			store := memstore.NewWithCleanupInterval(0) // stands for postgresstore: it survives restarts
			loginAt := clock.Now().Truncate(time.Second)
			a := newKeepApp(t, store, clock, loginAt)
			w, cookie := a.do(t, "/callback", nil)
			if w.Code != http.StatusOK {
				t.Fatalf("login: %d %s", w.Code, w.Body)
			}
			a, cookie = tt.after(t, a, store, clock, loginAt, cookie)

			// The OP ends alice's session; the handler calls the Ender.
			logout := sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "sid-1", IssuedAt: loginAt.Add(time.Minute)}
			if _, err := a.ender.EndSessions(ctx, logout); err != nil {
				t.Fatal(err)
			}
			// The user comes back later.
			clock.Advance(5*time.Minute + time.Second)
			if w, _ := a.do(t, "/me", cookie); w.Code == http.StatusOK && w.Body.String() == "alice" {
				t.Errorf("after the OP's logout (and the window) the session is still signed in as %q", w.Body)
			}
		})
	}
}
