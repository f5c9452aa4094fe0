// Command postgres is the scs example (net/http and alexedwards/scs) run
// as several replicas over one PostgreSQL: scs's sessions in pgxstore's
// "sessions" table, and the bindings, the revocations and the jti replay
// cache in pgadapter's tables, so that a logout any replica receives (the
// OP's back-channel logout, OpenID Connect Back-Channel Logout 1.0 §2.7,
// or the app's own Sign out) ends the session at every replica. Start it
// twice behind one load balancer, on one database. Copy it whole and
// change what the comments say.
//
//	BCLOGOUT_PG_URL=postgres://app@127.0.0.1/app go run ./postgres  # against an in-process fake OP
//	BCLOGOUT_PG_URL=… BCLOGOUT_CLIENT_SECRET=… go run ./postgres -issuer https://op.example -client-id app
//
// The database URL and the client secret come from the environment, not
// flags, so that they stay out of the process list; without a secret the
// app is a public client.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/oauth2"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// config is what the app needs to know; main fills it from flags and the
// environment.
type config struct {
	Issuer       string // the OP's issuer URL
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	BaseURL      string // this app's external URL: redirect_uri is BaseURL + "/callback"
	DatabaseURL  string // the PostgreSQL every replica shares
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	cfg := config{DatabaseURL: os.Getenv("BCLOGOUT_PG_URL"), ClientSecret: os.Getenv("BCLOGOUT_CLIENT_SECRET")}
	flag.StringVar(&cfg.Issuer, "issuer", "", "the OP's issuer URL; empty starts a fake OP in this process")
	flag.StringVar(&cfg.ClientID, "client-id", "example-app", "this app's client_id at the OP")
	flag.StringVar(&cfg.BaseURL, "base-url", "", "this app's external URL (default http://ADDR)")
	flag.Parse()
	if cfg.DatabaseURL == "" {
		log.Fatal("postgres: set BCLOGOUT_PG_URL to the database's URL (scripts/with-postgres.sh starts one)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, cfg); err != nil {
		log.Fatal("postgres: ", err)
	}
}

func run(ctx context.Context, addr string, cfg config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	if cfg.Issuer == "" { // try it out: a fake OP that knows this app
		op, err := startFakeOP(cfg)
		if err != nil {
			return err
		}
		defer op.Close()
		cfg.Issuer = op.Issuer()
		fmt.Fprintf(os.Stderr, "fake OP at %s: sign out everywhere there\n", op.Issuer())
	}
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	fmt.Println("listening on", cfg.BaseURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// app is the relying party: an http.Handler.
type app struct {
	http.Handler
	sm       *scs.SessionManager
	oauth    oauth2.Config
	idTokens *oidc.IDTokenVerifier
	logout   *bclogout.RP // the back-channel endpoint, the guard and the login step
	closers  []func() error
}

// sessionsDDL is the table pgxstore reads and writes (its README's), made
// on start if missing. pgadapter makes its own tables on first use.
const sessionsDDL = `CREATE TABLE IF NOT EXISTS sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry)`

func newApp(ctx context.Context, cfg config) (a *app, err error) {
	a = &app{sm: scs.New()}
	defer func() { // a half-built app releases what it opened
		if err != nil {
			_ = a.Close()
		}
	}()
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	a.idTokens = provider.Verifier(&oidc.Config{ClientID: cfg.ClientID})
	a.oauth = oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: cfg.BaseURL + "/callback", Scopes: []string{oidc.ScopeOpenID},
	}
	a.sm.Lifetime = 8 * time.Hour
	a.sm.Cookie.Secure = strings.HasPrefix(cfg.BaseURL, "https:")

	// One pool for scs's store and for pgadapter: the revocation feed
	// holds one of its connections for LISTEN.
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() error { pool.Close(); return nil })
	if err := createSessionsTable(ctx, pool); err != nil {
		return nil, err
	}
	// Interval 0: no cleanup goroutine of pgxstore's own, which could
	// not be stopped safely; cleanSessions does its work and stops at Close.
	a.sm.Store = pgxstore.NewWithCleanupInterval(pool, 0)
	a.closers = append(a.closers, cleanSessions(pool, 5*time.Minute))

	revs, err := pgadapter.NewRevocations(pool) // each replica's in-memory copy, fed by LISTEN/NOTIFY
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, revs.Close)
	bindings, err := pgadapter.New(pool) // deletes from the "sessions" table, pgxstore's, at logout
	if err != nil {
		return nil, err
	}
	replays, err := pgadapter.NewReplayCache(pool)
	if err != nil {
		return nil, err
	}
	// Until the first catch-up the guard answers 503; waiting here serves
	// the first requests instead.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := revs.Wait(wait); err != nil {
		return nil, fmt.Errorf("reading the revocations: %w", err)
	}

	a.logout, err = bclogout.New(ctx, bclogout.Config{
		Issuer:   cfg.Issuer,
		ClientID: cfg.ClientID,
		// Where the OP sends the browser back after a sign-out: the
		// sign-out route itself; register it with the OP as a
		// post_logout_redirect_uri.
		PostLogoutRedirectURI: cfg.BaseURL + "/signout",
		Sessions:              scsadapter.New(a.sm),
		SignedOut:             http.RedirectHandler("/signed-out", http.StatusSeeOther),
		Revocations:           revs,
		Bindings:              bindings,
		ReplayCache:           replays,
		SessionLifetime:       a.sm.Lifetime,
	})
	if err != nil {
		return nil, err
	}
	// Closed before the pool it retries against (closers run last first):
	// pending logouts get a last try.
	a.closers = append(a.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return a.logout.Close(ctx)
	})

	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", a.home)
	pages.HandleFunc("GET /login", a.login)
	pages.HandleFunc("GET /callback", a.callback)
	pages.HandleFunc("GET /signed-out", a.signedOut)
	pages.Handle("/signout", a.logout.SignOut()) // the button's POST and the OP's way back
	// The guard inside LoadAndSave, which loads the session it reads;
	// Endpoints outside both: the OP's POST to /backchannel-logout meets
	// no session loading and no guard.
	a.Handler = a.logout.Endpoints(a.sm.LoadAndSave(a.logout.Guard(pages)))
	return a, nil
}

// createSessionsTable makes pgxstore's table if it is missing. Replicas
// that start together take turns (an advisory lock held by the
// transaction): CREATE TABLE IF NOT EXISTS alone can fail in the one
// that loses a race.
func createSessionsTable(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('examples/postgres: sessions'))"); err != nil {
		return err
	}
	for _, stmt := range strings.Split(sessionsDDL, ";") {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// cleanSessions deletes expired sessions every interval, as pgxstore's
// own cleanup would, until the function it returns is called; that
// function returns once the loop has stopped.
func cleanSessions(pool *pgxpool.Pool, interval time.Duration) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := pool.Exec(ctx, "DELETE FROM sessions WHERE expiry < current_timestamp"); err != nil && ctx.Err() == nil {
					slog.Error("postgres: deleting expired sessions", "err", err)
				}
			}
		}
	})
	return func() error { cancel(); wg.Wait(); return nil }
}

// Close stops the app's background work and releases its clients, the
// last opened first.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

var page = template.Must(template.New("page").Parse(`<!doctype html><title>postgres example</title>
{{if .}}<p id="user">Signed in as <b>{{.}}</b>.</p>
<form method="post" action="/signout"><button id="signout" type="submit">Sign out</button></form>
{{else}}<p id="signed-out">Signed out.</p><p><a href="/login">Sign in</a></p>{{end}}`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	_ = page.Execute(w, a.sm.GetString(r.Context(), "user"))
}

func (a *app) signedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	_ = page.Execute(w, "")
}

// login starts the authorization-code flow, with state, nonce and PKCE
// kept in the (pre-login) session.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	a.sm.Put(r.Context(), "state", state)
	a.sm.Put(r.Context(), "nonce", nonce)
	a.sm.Put(r.Context(), "pkce", verifier)
	http.Redirect(w, r, a.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback redeems the code, verifies the ID token, and starts the
// session bound to the OP session.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.FormValue("state") == "" || r.FormValue("state") != a.sm.PopString(ctx, "state") {
		http.Error(w, "bad state", http.StatusBadRequest)
		return
	}
	tok, err := a.oauth.Exchange(ctx, r.FormValue("code"), oauth2.VerifierOption(a.sm.PopString(ctx, "pkce")))
	if err != nil {
		http.Error(w, "login failed", http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.idTokens.Verify(ctx, raw)
	if err != nil || idt.Nonce != a.sm.PopString(ctx, "nonce") {
		http.Error(w, "login failed", http.StatusBadRequest)
		return
	}
	// Ties the session to the OP session (with a new token, against
	// fixation) in PostgreSQL, so that the OP's logout received by any
	// replica ends it, and keeps the raw ID token server-side for the
	// sign-out's id_token_hint.
	if err := a.logout.Login(w, r, raw); errors.Is(err, sessionadapter.ErrRevoked) {
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther) // the OP ended this session while we logged in
		return
	} else if err != nil {
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
	a.sm.Put(ctx, "user", idt.Subject)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// startFakeOP runs the project's fake OP (what `bclogout op` serves) with
// this app registered, for trying the example without an OP of your own
// (with one, pass -issuer). It delivers logout tokens to loopback, where
// the example listens.
func startFakeOP(cfg config) (*opkit.OP, error) {
	op, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowLoopbackTargets())
	if err != nil {
		return nil, err
	}
	err = op.RegisterClient(opkit.Client{
		ID: cfg.ClientID, Secret: cfg.ClientSecret, RedirectURIs: []string{cfg.BaseURL + "/callback"},
		BackchannelLogoutURI: cfg.BaseURL + "/backchannel-logout", PostLogoutRedirectURIs: []string{cfg.BaseURL + "/signout"},
	})
	if err != nil {
		op.Close()
		return nil, err
	}
	return op, nil
}
