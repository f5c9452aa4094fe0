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

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/chimw"
	"github.com/bclogout/bclogout/middleware/echomw"
	"github.com/bclogout/bclogout/replay/redisreplay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
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

func chiMount(logout *bclogout.RP, home http.HandlerFunc) error {
	// chi (github.com/bclogout/bclogout/middleware/chimw)
	r := chi.NewRouter()
	r.Group(func(r chi.Router) { r.Use(logout.Guard); r.Get("/", home) }) // app routes: guard, CSRF, auth
	err := chimw.Mount(r, "/backchannel-logout", logout)                  // the OP's POST: outside them
	return err
}

func echoMount(logout *bclogout.RP, home echo.HandlerFunc) error {
	// echo (github.com/bclogout/bclogout/middleware/echomw)
	e := echo.New()
	e.Group("", echo.WrapMiddleware(logout.Guard)).GET("/", home) // app routes: guard, CSRF, auth
	err := echomw.Mount(e, "/backchannel-logout", logout)         // the OP's POST: on the Echo itself
	return err
}

// Several replicas.

func replicas(ctx context.Context, issuer string, sm *scs.SessionManager) (*bclogout.RP, error) {
	// Or a ClusterClient; ContextTimeoutEnabled lets request deadlines reach Redis.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	revs, err := redisadapter.NewRevocations(rdb) // each replica's in-memory copy, fed from Redis
	if err != nil {
		return nil, err
	}
	bindings, err := redisadapter.New(rdb, redisadapter.WithSessionKey("scs:session:%s")) // scs's redisstore keys
	if err != nil {
		return nil, err
	}
	replays, err := redisreplay.New(rdb, "") // "" is the default key prefix
	if err != nil {
		return nil, err
	}
	return bclogout.New(ctx, bclogout.Config{
		Issuer: issuer, ClientID: "my-app", Sessions: scsadapter.New(sm),
		Revocations: revs, Bindings: bindings, ReplayCache: replays,
	})
}

// Underneath the front door.

func underneath(ctx context.Context, issuer string, sessions sessionadapter.Sessions, app http.Handler) (http.Handler, error) {
	verifier, err := rp.Discover(ctx, issuer, "my-app", rp.WithAlgorithms("ES256")) // the OP's keys, kept fresh
	if err != nil {
		return nil, err
	}
	revs, err := sessionadapter.NewMemoryRevocations() // or redisadapter.NewRevocations(rdb)
	if err != nil {
		return nil, err
	}
	ender, err := sessionadapter.NewRevokingEnder(revs) // revokes; WithStore(bindings) also deletes
	if err != nil {
		return nil, err
	}
	endpoint, err := rp.NewHandler(verifier, ender, rp.WithRetry(rp.RetryPolicy{}))
	if err != nil {
		return nil, err
	}
	guard, err := middleware.Guard(revs, sessions.Lookup) // 401 for a revoked session; WithOnRevoked to change it
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", guard(app))
	mux.Handle("/backchannel-logout", endpoint) // every method: the endpoint answers 405 itself
	return mux, nil
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

// Shared Signals.

// sharedSignals adds the endpoint where Google (RISC) or an SSF
// transmitter (CAEP) pushes Security Event Tokens; users maps an email to
// the OP's sub.
func sharedSignals(ctx context.Context, sm *scs.SessionManager, mux *http.ServeMux, users map[string]string) (*bclogout.RP, error) {
	logout, err := bclogout.New(ctx, bclogout.Config{
		Issuer:   "https://accounts.google.com",
		ClientID: "1234-abcd.apps.googleusercontent.com",
		Sessions: scsadapter.New(sm),
		SharedSignals: &bclogout.SharedSignals{
			// Google's RISC: Transmitter and Audience default to Issuer and ClientID.
			// Okta and other SSF transmitters: set both, and the stream's token:
			// Transmitter: "https://example.okta.com", Audience: "https://app.example.com",
			// BearerToken: os.Getenv("SSF_BEARER"),
			MapSubject: func(ctx context.Context, id map[string]any) (string, error) {
				email, _ := id["email"].(string) // an "email" subject: find the OP's sub
				return users[email], nil         // "" for a user the app does not know
			},
		},
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/backchannel-logout", logout)
	mux.Handle("/shared-signals", logout.SharedSignals()) // register this URL with the transmitter
	return logout, nil
}

// The snippets are documentation: nothing calls them.
var _ = []any{quickStart, quickStartCallback, chiMount, echoMount, replicas, underneath, signOut, sharedSignals}
