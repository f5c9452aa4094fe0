// Command scs is a complete relying party on net/http and alexedwards/scs
// whose users are signed out when their OP session ends: OpenID Connect
// login with coreos/go-oidc and golang.org/x/oauth2, sessions bound at the
// callback, the guard on every page, the back-channel logout endpoint, a
// "Sign out" button that signs out of the OP too (RP-initiated logout), and
// a signed-out page. Copy it whole and change what the comments say.
//
//	go run ./scs                                      # against an in-process fake OP
//	BCLOGOUT_CLIENT_SECRET=… go run ./scs -issuer https://op.example -client-id app
//	BCLOGOUT_REDIS_URL=redis://127.0.0.1:6379/0 go run ./scs  # sessions in Redis
//
// The client secret comes from BCLOGOUT_CLIENT_SECRET, not a flag, so it
// stays out of the process list; without it the app is a public client.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/coreos/go-oidc/v3/oidc"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// config is what the app needs to know; main fills it from flags.
type config struct {
	Issuer       string // the OP's issuer URL
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	BaseURL      string // this app's external URL: redirect_uri is BaseURL + "/callback"
	RedisURL     string // empty keeps sessions in memory (one replica)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	cfg := config{RedisURL: os.Getenv("BCLOGOUT_REDIS_URL"), ClientSecret: os.Getenv("BCLOGOUT_CLIENT_SECRET")}
	flag.StringVar(&cfg.Issuer, "issuer", "", "the OP's issuer URL; empty starts a fake OP in this process")
	flag.StringVar(&cfg.ClientID, "client-id", "example-app", "this app's client_id at the OP")
	flag.StringVar(&cfg.BaseURL, "base-url", "", "this app's external URL (default http://ADDR)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, cfg); err != nil {
		log.Fatal("scs: ", err)
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

func newApp(ctx context.Context, cfg config) (*app, error) {
	a := &app{sm: scs.New()}
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

	logoutCfg := bclogout.Config{
		Issuer:   cfg.Issuer,
		ClientID: cfg.ClientID,
		// Where the OP sends the browser back after a sign-out: the
		// sign-out route itself; register it with the OP as a
		// post_logout_redirect_uri.
		PostLogoutRedirectURI: cfg.BaseURL + "/signout",
		Sessions:              scsadapter.New(a.sm),
		SignedOut:             http.RedirectHandler("/signed-out", http.StatusSeeOther),
	}
	if cfg.RedisURL != "" {
		// Several replicas: scs's sessions, the bindings and the
		// revocations in Redis, so that a logout any replica receives ends
		// the session at every replica.
		opts, err := redis.ParseURL(cfg.RedisURL) // go-redis, for redisadapter
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true
		rdb := redis.NewClient(opts)
		pool := &redigo.Pool{MaxIdle: 8, Dial: func() (redigo.Conn, error) { return redigo.DialURL(cfg.RedisURL) }}
		a.closers = append(a.closers, rdb.Close, pool.Close)
		a.sm.Store = redisstore.New(pool) // scs's store (redigo): keys scs:session:TOKEN
		bindings, err := redisadapter.New(rdb, redisadapter.WithSessionKey("scs:session:%s"))
		if err != nil {
			return nil, err
		}
		revs, err := redisadapter.NewRevocations(rdb) // each replica keeps them in memory, fed from Redis
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, revs.Close)
		// Until the feed's first read the guard answers 503 and Login
		// fails closed; waiting here serves the first requests instead.
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := revs.Wait(wait); err != nil {
			return nil, fmt.Errorf("reading the revocations: %w", err)
		}
		logoutCfg.Bindings, logoutCfg.Revocations = bindings, revs
	} else {
		// Its cleanup goroutine lives as long as the process: StopCleanup
		// races with the goroutine's start in scs v2.9.0.
		a.sm.Store = memstore.New()
	}
	if a.logout, err = bclogout.New(ctx, logoutCfg); err != nil {
		return nil, err
	}
	// Closed before the stores it retries against (closers run last
	// first): pending logouts get a last try.
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

// Close stops the app's background work and releases its clients, the
// last opened first.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

var page = template.Must(template.New("page").Parse(`<!doctype html><title>scs example</title>
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
	// fixation), so that the OP's logout ends it, and keeps the raw ID
	// token server-side for the sign-out's id_token_hint.
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
