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

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// TestEnforcementDefectRestartForgetsBindings: the README's row for scs
// "any store: ... postgresstore, mysqlstore, sqlite3store" wires deletion
// through sessionadapter.NewMemory(WithDeleter(scsadapter.Deleter(sm.Store)))
// under RevokingEnder WithStore. The sessions persist in the database; the
// bindings live in process memory (memory.go: "a restart forgets both"),
// and the Memory store is Windowed, so the revocation is kept for the
// in-flight window only (5 min). After one restart of the single replica
// a logout finds no binding, deletes nothing, and 5 minutes later the
// logged-out session is back: every deploy re-opens every session that
// the OP ends afterwards.
func TestEnforcementDefectRestartForgetsBindings(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	db := memstore.NewWithCleanupInterval(0) // stands for postgresstore: it survives restarts

	// process builds one instance of the app over the persistent store.
	type process struct {
		http.Handler
		ender *sessionadapter.RevokingEnder
		index *sessionadapter.Memory
	}
	loginAt := clock.Now().Truncate(time.Second)
	start := func() *process {
		sm := scs.New()
		sm.Store = db
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
		mux := http.NewServeMux()
		mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
			l := sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "sid-1", IssuedAt: loginAt}
			b, err := scsadapter.Stash(r.Context(), sm, l)
			if err == nil {
				err = ender.Bind(r.Context(), b)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
		mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, sm.GetString(r.Context(), "bclogout.sub"))
		})
		return &process{Handler: sm.LoadAndSave(guard(mux)), ender: ender, index: index}
	}
	do := func(h http.Handler, path string, c *http.Cookie) (*httptest.ResponseRecorder, *http.Cookie) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, nc := range w.Result().Cookies() {
			return w, nc
		}
		return w, c
	}

	p1 := start()
	w, cookie := do(p1, "/callback", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	p2 := start() // a deploy: same database, new process
	if w, _ := do(p2, "/me", cookie); w.Body.String() != "alice" {
		t.Fatalf("precondition: the session survives the restart, got %q", w.Body)
	}
	logout := sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "sid-1", IssuedAt: loginAt.Add(time.Minute)}
	if _, err := p2.ender.EndSessions(ctx, logout); err != nil {
		t.Fatal(err)
	}
	clock.Advance(sessionadapter.DefaultInFlightWindow + time.Second)
	if _, err := p2.index.EndDue(ctx); err != nil {
		t.Fatal(err)
	}
	if w, _ := do(p2, "/me", cookie); w.Code == http.StatusOK && w.Body.String() == "alice" {
		t.Errorf("5 minutes after the OP's logout the session is signed in again as %q", w.Body)
	}
}
