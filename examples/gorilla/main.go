// Command gorilla is a complete relying party on chi and gorilla/sessions
// whose users are signed out when their OP session ends: OpenID Connect
// login with coreos/go-oidc and golang.org/x/oauth2, sessions bound at the
// callback, the guard on every page, the back-channel logout endpoint with
// Prometheus metrics, a "Sign out" button that signs out of the OP too
// (RP-initiated logout), and a signed-out page. Copy it whole and change what
// the comments say.
//
//	go run ./gorilla                                      # against an in-process fake OP
//	BCLOGOUT_CLIENT_SECRET=… go run ./gorilla -issuer https://op.example -client-id app
//	BCLOGOUT_REDIS_URL=redis://127.0.0.1:6379/0 go run ./gorilla  # sessions in Redis
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

	"github.com/boj/redistore"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/sessions"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/prommetrics"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// config is what the app needs to know; main fills it from flags.
type config struct {
	Issuer       string // the OP's issuer URL
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	BaseURL      string // this app's external URL: redirect_uri is BaseURL + "/callback"
	RedisURL     string // empty keeps sessions in files and bindings in memory (one replica)
	SessionDir   string // FilesystemStore's directory; empty makes a temporary one
	SessionKey   []byte // authenticates session cookies; empty makes a random one per start
}

const (
	sessionName = "app"   // the signed-in session
	loginName   = "login" // state, nonce and PKCE verifier between /login and /callback
	lifetime    = 8 * time.Hour
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	metricsAddr := flag.String("metrics-addr", "", "listen address of /metrics, apart from the app (default: not served)")
	cfg := config{
		RedisURL: os.Getenv("BCLOGOUT_REDIS_URL"), ClientSecret: os.Getenv("BCLOGOUT_CLIENT_SECRET"),
		SessionKey: []byte(os.Getenv("SESSION_KEY")),
	}
	flag.StringVar(&cfg.Issuer, "issuer", "", "the OP's issuer URL; empty starts a fake OP in this process")
	flag.StringVar(&cfg.ClientID, "client-id", "example-app", "this app's client_id at the OP")
	flag.StringVar(&cfg.BaseURL, "base-url", "", "this app's external URL (default http://ADDR)")
	flag.StringVar(&cfg.SessionDir, "session-dir", "", "FilesystemStore directory (default: a temporary one)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *metricsAddr, cfg); err != nil {
		log.Fatal("gorilla: ", err)
	}
}

func run(ctx context.Context, addr, metricsAddr string, cfg config) error {
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

	if metricsAddr != "" { // never on the app's own listener: metrics are for operators
		mln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return err
		}
		msrv := &http.Server{Handler: a.metrics, ReadHeaderTimeout: 10 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
	}
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
	cfg      config
	sessions sessions.Store
	oauth    oauth2.Config
	idTokens *oidc.IDTokenVerifier
	logout   *bclogout.RP // the back-channel endpoint, the guard and the login step
	metrics  http.Handler // Prometheus, for a listener of its own
	closers  []func() error
}

func newApp(ctx context.Context, cfg config) (*app, error) {
	a := &app{cfg: cfg}
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	a.idTokens = provider.Verifier(&oidc.Config{ClientID: cfg.ClientID})
	a.oauth = oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: cfg.BaseURL + "/callback", Scopes: []string{oidc.ScopeOpenID},
	}
	key := cfg.SessionKey
	if len(key) == 0 {
		key = []byte(rand.Text() + rand.Text()) // sessions do not survive a restart
	}
	reg := prometheus.NewRegistry()
	metrics, err := prommetrics.New(reg)
	if err != nil {
		return nil, err
	}
	a.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	sessionOptions := sessions.Options{Path: "/", MaxAge: int(lifetime / time.Second), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(cfg.BaseURL, "https:")}
	logoutCfg := bclogout.Config{
		Issuer:   cfg.Issuer,
		ClientID: cfg.ClientID,
		// Where the OP sends the browser back after a sign-out: the
		// sign-out route itself; register it with the OP as a
		// post_logout_redirect_uri.
		PostLogoutRedirectURI: cfg.BaseURL + "/signout",
		SignedOut:             http.RedirectHandler("/signed-out", http.StatusSeeOther),
		Metrics:               metrics,
	}

	// Sessions, their bindings and the revocations the guard checks: files
	// and memory for one replica, Redis for several.
	if cfg.RedisURL != "" {
		rs, err := redistore.NewRediStoreWithURL(8, cfg.RedisURL, key) // redigo: keys session_ID
		if err != nil {
			return nil, err
		}
		rs.Options = &sessionOptions
		opts, err := redis.ParseURL(cfg.RedisURL) // go-redis, for redisadapter
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true
		rdb := redis.NewClient(opts)
		a.closers = append(a.closers, rs.Close, rdb.Close)
		a.sessions = rs
		bindings, err := redisadapter.New(rdb, redisadapter.WithSessionKey("session_%s"))
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
		dir := cfg.SessionDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "gorilla-example-sessions"); err != nil {
				return nil, err
			}
			a.closers = append(a.closers, func() error { return os.RemoveAll(dir) })
		}
		fs := sessions.NewFilesystemStore(dir, key)
		fs.Options = &sessionOptions
		a.sessions = fs
		// The bindings live in memory and are lost on a restart, the
		// sessions are not: revocations are kept in a file beside them,
		// for the session lifetime, so a logout outlives restarts.
		revs, err := openFileRevocations(dir)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, revs.Close)
		logoutCfg.Revocations = revs
	}
	logoutCfg.Sessions = gorillaadapter.New(a.sessions, sessionName)
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

	r := chi.NewRouter()
	// The guard over the whole router (CSRF middleware would go here
	// too): the OP's POST never reaches it, Endpoints below serves it
	// ahead of the router.
	r.Use(a.logout.Guard)
	r.Get("/", a.home)
	r.Get("/login", a.login)
	r.Get("/callback", a.callback)
	r.Get("/signed-out", a.signedOut)
	// The sign-out route (the button's POST and the OP's way back), with
	// r.Handle (every method: it answers its own 405), reads the gorilla
	// session itself.
	r.Handle("/signout", a.logout.SignOut())
	// The back-channel logout at /backchannel-logout, ahead of the
	// router and its middleware.
	a.Handler = a.logout.Endpoints(r)
	return a, nil
}

// Close stops the app's background work and releases its clients and its
// temporary session directory, the last opened first.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

var page = template.Must(template.New("page").Parse(`<!doctype html><title>gorilla example</title>
{{if .}}<p id="user">Signed in as <b>{{.}}</b>.</p>
<form method="post" action="/signout"><button id="signout" type="submit">Sign out</button></form>
{{else}}<p id="signed-out">Signed out.</p><p><a href="/login">Sign in</a></p>{{end}}`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	user := ""
	if s, err := a.sessions.Get(r, sessionName); err == nil {
		user, _ = s.Values["user"].(string)
	}
	w.Header().Set("Cache-Control", "no-store")
	_ = page.Execute(w, user)
}

func (a *app) signedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	_ = page.Execute(w, "")
}

// login starts the authorization-code flow, with state, nonce and PKCE
// kept in a short-lived session of their own.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s, _ := a.sessions.New(r, loginName) // a bad old cookie just gives a new session
	s.Options = &sessions.Options{Path: "/", MaxAge: 600, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(a.cfg.BaseURL, "https:")}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	s.Values["state"], s.Values["nonce"], s.Values["pkce"] = state, nonce, verifier
	if err := s.Save(r, w); err != nil {
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, a.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback redeems the code, verifies the ID token, and starts a new
// session bound to the OP session.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ls, err := a.sessions.Get(r, loginName)
	if err != nil {
		http.Error(w, "bad state", http.StatusBadRequest)
		return
	}
	state, _ := ls.Values["state"].(string)
	if state == "" || r.FormValue("state") != state {
		http.Error(w, "bad state", http.StatusBadRequest)
		return
	}
	verifier, _ := ls.Values["pkce"].(string)
	nonce, _ := ls.Values["nonce"].(string)
	ls.Options.MaxAge = -1 // used once
	_ = ls.Save(r, w)
	tok, err := a.oauth.Exchange(ctx, r.FormValue("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		http.Error(w, "login failed", http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.idTokens.Verify(ctx, raw)
	if err != nil || idt.Nonce != nonce {
		http.Error(w, "login failed", http.StatusBadRequest)
		return
	}
	// Ties a new session (a new ID, against fixation) to the OP session,
	// so that the OP's logout ends it, and keeps the raw ID token
	// server-side for the sign-out's id_token_hint; Login saves it.
	if s, err := a.sessions.Get(r, sessionName); s != nil {
		s.Values["user"] = idt.Subject
	} else {
		http.Error(w, "login failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if err := a.logout.Login(w, r, raw); errors.Is(err, sessionadapter.ErrRevoked) {
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther) // the OP ended this session while we logged in
		return
	} else if err != nil {
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
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
