package scsadapter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// An scs app: Stash at login and bind through the RevokingEnder, the guard
// inside LoadAndSave; a logout revokes, then deletes through the scs store.
func Example() {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0) // any scs store
	sess := scsadapter.New(sm)
	index, _ := sessionadapter.NewMemory(sessionadapter.WithDeleter(sess.(sessionadapter.Deleter)))
	rev, _ := sessionadapter.NewMemoryRevocations()
	ender, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(index)) // for rp.NewHandler
	guard, _ := middleware.Guard(rev, sess.Lookup)

	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		// login, err := verifier.VerifyIDToken(ctx, rawIDToken) (package rp)
		login := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1", LoginTime: time.Now()}
		b, err := sess.Stash(w, r, login)
		if err == nil {
			err = ender.Bind(r.Context(), b) // refuses a login whose OP session was logged out
		}
		if err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", login.Subject)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if user := sm.GetString(r.Context(), "user"); user != "" {
			fmt.Fprintln(w, "signed in as", user)
			return
		}
		fmt.Fprintln(w, "signed out")
	})
	app := sm.LoadAndSave(guard(mux))

	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/callback", nil))
	cookie := w.Result().Cookies()[0]

	// What the back-channel handler's Ender does with a validated token.
	logout := sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-1", IssuedAt: time.Now().Add(time.Second)}
	n, _ := ender.EndSessions(context.Background(), logout)

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	w = httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Print(n, " ", w.Body.String())
	// Output: 1 signed out
}
