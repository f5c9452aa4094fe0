package scsadapter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// fakeClock is a settable clock shared by the store and the revocations.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestEnforcementDefectRenewedTokenSurvivesLogout: the enforcement model
// as sessionadapter documents it for server-side stores,
// NewRevokingEnder(rev, WithStore(NewMemory(WithDeleter(scsadapter.Deleter)))),
// keeps the revocation only for the in-flight window (ender.go
// NewRevokingEnder: Windowed store => keepFor = InFlightWindow) and relies
// on the store to delete the ended sessions by the LocalID bound at login.
// scs apps call sm.RenewToken at every privilege change (scs's own advice,
// e.g. a step-up/2FA after the OIDC login): the session's data moves to a
// new token the binding does not name. The logout deletes the stale token,
// the revocation expires with the window, and the session under the new
// token, with the stashed login in it, stays signed in for good.
func TestEnforcementDefectRenewedTokenSurvivesLogout(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	del, err := scsadapter.Deleter(sm.Store)
	if err != nil {
		t.Fatal(err)
	}
	index, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(del), sessionadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { index.Close() })
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(index))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := middleware.Guard(rev, scsadapter.Lookup(sm))
	if err != nil {
		t.Fatal(err)
	}
	loginAt := clock.Now().Truncate(time.Second)
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		l := sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "sid-1", IssuedAt: loginAt}
		b, err := scsadapter.Stash(r.Context(), sm, l)
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
	app := sm.LoadAndSave(guard(mux))

	do := func(path string, c *http.Cookie) (*httptest.ResponseRecorder, *http.Cookie) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		for _, nc := range w.Result().Cookies() {
			if nc.Name == sm.Cookie.Name {
				return w, nc
			}
		}
		return w, c
	}
	w, cookie := do("/callback", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	w, cookie = do("/step-up", cookie)
	if w.Code != http.StatusOK {
		t.Fatalf("step-up: %d %s", w.Code, w.Body)
	}

	// The OP ends alice's session; the handler calls the Ender.
	logout := sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "sid-1", IssuedAt: loginAt.Add(time.Minute)}
	if _, err := ender.EndSessions(ctx, logout); err != nil {
		t.Fatal(err)
	}
	// The user comes back after the in-flight window (a coffee break).
	clock.Advance(sessionadapter.DefaultInFlightWindow + time.Second)
	if _, err := index.EndDue(ctx); err != nil {
		t.Fatal(err)
	}
	w, _ = do("/me", cookie)
	if w.Code == http.StatusOK && w.Body.String() == "alice" {
		t.Errorf("after the OP's logout (and the window) the renewed session is still signed in as %q", w.Body)
	}
}
