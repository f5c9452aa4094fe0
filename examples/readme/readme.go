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
	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/ginmw"
	"github.com/bclogout/bclogout/otelbclogout"
	"github.com/bclogout/bclogout/prommetrics"
	"github.com/bclogout/bclogout/replay/redisreplay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// Quick start.

// app is the quick start's app: its sessions (any store) and its RP,
// beside its own fields.
type app struct {
	sm     *scs.SessionManager
	logout *bclogout.RP
}

// handler is where the app builds its handler: mux holds its routes.
func (a *app) handler(ctx context.Context, issuer string, mux *http.ServeMux) (_ http.Handler, err error) {
	a.logout, err = bclogout.New(ctx, bclogout.Config{
		Issuer:                issuer,                            // the OP, e.g. "https://accounts.example.com"
		ClientID:              "my-app",                          // this app's client_id there
		Sessions:              scsadapter.New(a.sm),              // gorilla: gorillaadapter.New(store, name), name as in store.Get
		PostLogoutRedirectURI: "https://app.example.com/signout", // the sign-out route's URL, registered at the OP
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/signout", a.logout.SignOut())                            // in place of the app's sign-out handler; every method: the button's POST, the OP's GET back
	return a.logout.Endpoints(a.sm.LoadAndSave(a.logout.Guard(mux))), nil // the OP's POST to /backchannel-logout first; the guard inside LoadAndSave
}

// callback is the end of the login callback.
func (a *app) callback(w http.ResponseWriter, r *http.Request, rawIDToken string) {
	if err := a.logout.Login(w, r, rawIDToken); err != nil { // verifies it, binds the session to the OP session; logs why it failed
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
}

// shutdown is the app's graceful shutdown.
func (a *app) shutdown(shutdownCtx context.Context, srv *http.Server) error {
	err := errors.Join(srv.Shutdown(shutdownCtx), a.logout.Close(shutdownCtx)) // Close retries pending logouts until the deadline, logs each it could not finish
	return err
}

// chi, echo and gin.

func chiMount(logout *bclogout.RP, home http.HandlerFunc) http.Handler {
	// chi (with scs: r.Use(sm.LoadAndSave, logout.Guard))
	r := chi.NewRouter()
	r.Use(logout.Guard) // CSRF and sign-in middleware too: the OP's requests never reach them
	r.Get("/", home)
	r.Handle("/signout", logout.SignOut()) // every method: the button's POST, the OP's GET back
	return logout.Endpoints(r)             // what the server serves: the OP's POST ahead of the router
}

func echoMount(logout *bclogout.RP, home echo.HandlerFunc) http.Handler {
	// echo: serve what it returns from an http.Server (e.Start serves e itself)
	e := echo.New()
	e.Use(echo.WrapMiddleware(logout.Guard)) // every route, added before or after
	e.GET("/", home)
	e.Any("/signout", echo.WrapHandler(logout.SignOut()))
	return logout.Endpoints(e)
}

func ginMount(logout *bclogout.RP, home gin.HandlerFunc) http.Handler {
	// gin (github.com/bclogout/bclogout/middleware/ginmw adapts the guard)
	r := gin.New()
	r.Use(ginmw.Guard(logout.Guard)) // every route added after it (and no group made before it)
	r.GET("/", home)
	r.Any("/signout", gin.WrapH(logout.SignOut()))
	return logout.Endpoints(r) // serve this from an http.Server (r.Run serves r itself)
}

// Several replicas.

func replicas(ctx context.Context, issuer string, sm *scs.SessionManager) (*bclogout.RP, error) {
	// Or a ClusterClient; ContextTimeoutEnabled lets request deadlines reach Redis.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	revs, err := redisadapter.NewRevocations(rdb) // each replica's in-memory copy, fed from Redis
	if err != nil {
		return nil, err
	}
	if err := revs.Wait(ctx); err != nil { // its first read: until then the guard answers 503
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

func postgresReplicas(ctx context.Context, dsn, issuer string, sm *scs.SessionManager) (*bclogout.RP, error) {
	pool, err := pgxpool.New(ctx, dsn) // a *sql.DB user opens this from the same DSN
	if err != nil {
		return nil, err
	}
	revs, err := pgadapter.NewRevocations(pool) // each replica's in-memory copy, fed by LISTEN/NOTIFY
	if err != nil {
		return nil, err
	}
	if err := revs.Wait(ctx); err != nil { // its first read: until then the guard answers 503
		return nil, err
	}
	bindings, err := pgadapter.New(pool) // deletes from scs's "sessions" table; WithSessionTable for others
	if err != nil {
		return nil, err
	}
	replays, err := pgadapter.NewReplayCache(pool)
	if err != nil {
		return nil, err
	}
	return bclogout.New(ctx, bclogout.Config{
		Issuer: issuer, ClientID: "my-app", Sessions: scsadapter.New(sm),
		Revocations: revs, Bindings: bindings, ReplayCache: replays,
	})
}

// Configuration: OpenTelemetry.

func tracing(ctx context.Context, issuer string, sm *scs.SessionManager, tp trace.TracerProvider, reg prometheus.Registerer) (*bclogout.RP, error) {
	h := otelbclogout.New(tp) // nil: otel.GetTracerProvider()
	prom, err := prommetrics.New(reg)
	if err != nil {
		return nil, err
	}
	return bclogout.New(ctx, bclogout.Config{
		Issuer: issuer, ClientID: "my-app", Sessions: scsadapter.New(sm),
		OnLogout: h.OnLogout, OnReject: h.OnReject,
		Metrics: metrics{prom, h}, // without Prometheus: Metrics: h
	})
}

// metrics feeds both; the embedded *prommetrics.Metrics keeps its JWKSRefreshed.
type metrics struct {
	*prommetrics.Metrics
	otel *otelbclogout.Hooks
}

func (m metrics) Observe(door, issuer, outcome string, n int, elapsed time.Duration) {
	m.Metrics.Observe(door, issuer, outcome, n, elapsed)
	m.otel.Observe(door, issuer, outcome, n, elapsed)
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
	endpoint, err := rp.NewHandler(verifier, ender, rp.WithRetry(0))
	if err != nil {
		return nil, err
	}
	guard, err := middleware.Guard(revs, sessions.Lookup) // 401 for a revoked session; WithOnRevoked to change it
	if err != nil {
		return nil, err
	}
	return endpoint.Wrap(guard(app)), nil // the OP's POST to /backchannel-logout (rp.WithPath) ahead of the guard; every method: the endpoint answers 405 itself
}

// Sign out.

// frontChannel is the quick start's Config with the front-channel
// route, for an OP without back-channel logout.
func frontChannel(issuer string, sm *scs.SessionManager) bclogout.Config {
	return bclogout.Config{
		Issuer: issuer, ClientID: "my-app", Sessions: scsadapter.New(sm),
		FrontChannelPath: "/frontchannel-logout", // Endpoints serves it: only for an OP without back-channel logout
	}
}

// Shared Signals.

// sharedSignals adds the endpoint where Google (RISC) or an SSF
// transmitter (CAEP) pushes Security Event Tokens; users maps an email to
// the OP's sub.
func sharedSignals(ctx context.Context, sm *scs.SessionManager, users map[string]string) (*bclogout.RP, error) {
	return bclogout.New(ctx, bclogout.Config{
		Issuer:   "https://accounts.google.com",
		ClientID: "1234-abcd.apps.googleusercontent.com",
		Sessions: scsadapter.New(sm),
		SharedSignals: &bclogout.SharedSignals{ // Endpoints serves it at /shared-signals (Path): register that URL
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
}

// The snippets are documentation: nothing calls them.
var _ = []any{(*app).handler, (*app).callback, (*app).shutdown, chiMount, echoMount, ginMount, replicas, underneath, frontChannel, sharedSignals}
