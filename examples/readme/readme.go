// Package readme holds the Go snippets of the repository's README.md, each
// inside a function that gives it the variables it uses, so that they
// compile and are vetted with the rest of the examples module.
// examples/readme_test.go checks that every Go block of the README appears
// here (or in another Go file of the repository) line for line.
package readme

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/chimw"
	"github.com/bclogout/bclogout/middleware/echomw"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// Quick start.

// quickStart is main's wiring: app's sessions are in sm, mux is the
// server's handler. It returns the RP for the login callback.
func quickStart(ctx context.Context, issuer string, sm *scs.SessionManager, mux *http.ServeMux, app http.Handler) (*bclogout.RP, error) {
	logout, err := bclogout.New(ctx, bclogout.Config{
		Issuer:   issuer,             // the OP, e.g. "https://accounts.example.com"
		ClientID: "my-app",           // this app's client_id there
		Sessions: scsadapter.New(sm), // gorilla: gorillaadapter.New(store, "session")
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", sm.LoadAndSave(logout.Guard(app))) // every app route: the guard inside LoadAndSave
	mux.Handle("/backchannel-logout", logout)          // the OP's POST: no session, no CSRF check
	return logout, nil                                 // logout.Close(ctx) at shutdown
}

func quickStartCallback(w http.ResponseWriter, r *http.Request, logout *bclogout.RP, idToken *oidc.IDToken) {
	if err := logout.Login(w, r, idToken); err != nil { // binds the session to the OP session
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
		return
	}
}

// chi and echo.

func chiMount(guard func(http.Handler) http.Handler, home http.HandlerFunc, logout http.Handler) error {
	// chi (github.com/bclogout/bclogout/middleware/chimw)
	r := chi.NewRouter()
	r.Group(func(r chi.Router) { r.Use(guard); r.Get("/", home) }) // app routes: guard, CSRF, auth
	err := chimw.Mount(r, "/backchannel-logout", logout)           // the OP's POST: outside them
	return err
}

func echoMount(guard func(http.Handler) http.Handler, home echo.HandlerFunc, logout http.Handler) error {
	// echo (github.com/bclogout/bclogout/middleware/echomw)
	e := echo.New()
	e.Group("", echomw.Guard(guard)).GET("/", home)
	err := echomw.Mount(e, "/backchannel-logout", logout)
	return err
}

// Sessions: how they are found and destroyed.

func bindAtLogin(ctx context.Context, oidcVerifier *oidc.IDTokenVerifier, rawIDToken string, ender sessionadapter.Store, localSessionID string) error {
	idt, err := oidcVerifier.Verify(ctx, rawIDToken) // coreos/go-oidc (or sessionadapter.RawClaims(payload))
	if err != nil {
		return err
	}
	login, err := sessionadapter.LoginFromIDToken(idt) // iss, sub, sid, iat (the OP's clock)
	if err != nil {
		return err
	}
	err = ender.Bind(ctx, login.Binding(localSessionID, time.Now().Add(8*time.Hour))) // ErrRevoked: logged out meanwhile
	// on a local logout: ender.Unbind(ctx, localSessionID)
	return err
}

func redisReplica() (sessionadapter.Store, error) {
	// ContextTimeoutEnabled lets request deadlines reach Redis (redisreplay requires it).
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true}) // or ClusterClient, FailoverClient
	store, err := redisadapter.New(rdb,
		redisadapter.WithSessionKey("session_%s"), // where your session data lives (see below)
		redisadapter.WithSessionLifetime(8*time.Hour))
	if err != nil {
		return nil, err
	}
	revs, err := redisadapter.NewRevocations(rdb) // this replica's in-memory copy, fed from Redis
	if err != nil {
		return nil, err
	}
	ender, err := sessionadapter.NewRevokingEnder(revs, sessionadapter.WithStore(store)) // for rp.NewHandler
	// at shutdown: store.Close() (its poller of second deletions), revs.Close() (its feed)
	return ender, err
}

func cookieSessions(rdb *redis.Client, cookieStore sessions.Store) (sessionadapter.Ender, func(http.Handler) http.Handler) {
	rev, _ := redisadapter.NewRevocations(rdb)       // or sessionadapter.NewMemoryRevocations()
	ender, _ := sessionadapter.NewRevokingEnder(rev) // give it to rp.NewHandler
	guard, _ := middleware.Guard(rev, gorillaadapter.Lookup(cookieStore, "app"),
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			_ = gorillaadapter.End(w, r, cookieStore, "app") // clear the cookie
			http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
		}))
	// at login: login, err := sessionadapter.LoginFromIDToken(idt); gorillaadapter.Stash(session, login); session.Save(r, w)
	return ender, guard
}

// Sign out.

// signOut adds the sign-out routes: app is the routes quickStart serves
// behind sm.LoadAndSave(logout.Guard(app)), mux the server's handler.
func signOut(ctx context.Context, issuer string, sm *scs.SessionManager, app, mux *http.ServeMux) (*bclogout.RP, error) {
	logout, err := bclogout.New(ctx, bclogout.Config{
		Issuer: issuer, ClientID: "my-app", Sessions: scsadapter.New(sm),
		PostLogoutRedirectURI: "https://app.example.com/goodbye", // registered at the OP, exactly
	})
	if err != nil {
		return nil, err
	}
	app.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) { // the "Sign out" button
		hint := bclogout.SignOutHint{IDToken: sm.GetString(r.Context(), "id_token")} // put there at login
		err := logout.SignOut(w, r, hint)                                            // ends the session here, then 303 to the OP
		if errors.Is(err, bclogout.ErrNoEndSession) {
			http.Redirect(w, r, "/signed-out", http.StatusSeeOther) // the OP session lives on
		} else if err != nil {
			http.Error(w, "sign-out failed", http.StatusInternalServerError)
		}
	})
	app.HandleFunc("GET /goodbye", func(w http.ResponseWriter, r *http.Request) {
		if err := logout.FinishSignOut(w, r); err != nil { // forged or replayed state
			http.Error(w, "sign-out not started here", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
	})
	mux.Handle("/frontchannel-logout", logout.FrontChannel()) // only for an OP without back-channel logout
	return logout, nil
}

// The snippets are documentation: nothing calls them.
var _ = []any{quickStart, quickStartCallback, chiMount, echoMount, bindAtLogin, redisReplica, cookieSessions, signOut}
