package bclogout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/mount"
	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// ErrInvalidConfig is the one constructor error of the module: every
// constructor of every package (New here, rp.NewVerifier, redisadapter.New,
// …) returns it, wrapped with detail, for a configuration that cannot work.
var ErrInvalidConfig = errs.ErrInvalidConfig

// Config is what an app knows. Issuer, ClientID and Sessions are required;
// every other field has a default that suits one replica.
type Config struct {
	// Issuer is the OP's issuer identifier, exactly as its discovery
	// document and its tokens say it.
	Issuer string
	// ClientID is the app's client ID at the OP: the logout token's aud.
	ClientID string
	// Sessions is the app's session library: scsadapter.New(sm) or
	// gorillaadapter.New(store, name).
	Sessions sessionadapter.Sessions

	// Revocations remember each logout for the session lifetime, for the
	// guard and for Login. Default: in this process's memory. With several
	// replicas, redisadapter.NewRevocations(rdb) or
	// pgadapter.NewRevocations(pool), so that a logout any replica
	// received ends the session at every replica.
	Revocations sessionadapter.Revocations
	// Bindings index the app's sessions by OP session at login, so that a
	// logout can delete their data. Default: in memory, deleting through
	// Sessions where it can (it implements sessionadapter.Deleter, as both
	// adapters do). With several replicas, redisadapter.New(rdb, …) or
	// pgadapter.New(pool, …).
	Bindings sessionadapter.Store
	// ReplayCache remembers the jti of each completed logout until the
	// token could no longer be accepted. Default: in memory. With several
	// replicas, redisreplay.New(rdb, "") or pgadapter.NewReplayCache(pool).
	ReplayCache replay.Cache
	// SessionLifetime is the longest any of the app's sessions can live
	// (an absolute limit, sliding expiry included: gorilla's MaxAge, scs's
	// Lifetime): each logout's revocation is kept that long, since a
	// session that outlives its revocation is served again, and a failed
	// logout is retried that long. Default:
	// 30 days.
	SessionLifetime time.Duration
	// SignedOut serves a request whose session a logout ended, once the
	// guard has ended the session, and is the signed-out page SignOut()
	// lands the user on. Default: nil, which serves the guard's request on
	// as anonymous (the app sees no session, as after its own sign-out)
	// and has SignOut() redirect to "/".
	SignedOut http.Handler

	// PostLogoutRedirectURI is where the OP sends the browser back after
	// a sign-out (RP-Initiated Logout 1.0 §3): the URL of the path where
	// SignOut() is mounted, registered with the OP as a
	// post_logout_redirect_uri, exactly (with Cognito, as a sign-out URL).
	// It must be absolute, https (http only on a loopback host), without
	// fragment, userinfo, a . or .. segment or a backslash in its path
	// (which a browser reads as /), and its path, unescaped, none of
	// Endpoints' (New refuses them). Default: none; the OP then
	// shows its own page (AWS Cognito shows an error page instead: New
	// requires it for a Cognito issuer).
	PostLogoutRedirectURI string
	// SignOutFailed answers a sign-out whose local step failed (the
	// session store is down): the user is still signed in. Default: 500
	// and a short text page asking to try again.
	SignOutFailed http.Handler

	// BackChannelPath is where Endpoints serves the back-channel logout
	// (§2.5–§2.8): the path of the backchannel_logout_uri registered with
	// the OP. Default: "/backchannel-logout". It, FrontChannelPath and
	// SharedSignals.Path begin with "/", hold only A-Z a-z 0-9 - . _ ~ and
	// non-empty segments between slashes, none "." or "..", and differ
	// (New refuses others): Endpoints compares a request's path with them
	// as written, so a router's pattern ("POST /x", "/x/{id}", "/x/" for a
	// subtree) would be a door no request reaches, and a dot segment one
	// the browser removes before it asks.
	BackChannelPath string
	// FrontChannelPath, when set, is where Endpoints serves front-channel
	// logout (OpenID Connect Front-Channel Logout 1.0), for an OP that
	// reaches apps only through the browser (Microsoft Entra ID does): the
	// path of the frontchannel_logout_uri registered with the OP, with
	// frontchannel_logout_session_required. Anyone can call it (see
	// "Front-channel logout" in the package documentation). Default: none,
	// not served.
	FrontChannelPath string
	// SharedSignals, when set, has Endpoints serve the push endpoint
	// where the OP, or another transmitter, pushes Security Event Tokens
	// (CAEP session-revoked, RISC sessions-revoked, …) that end sessions
	// through the same revocations as a logout token. Default: none.
	SharedSignals *SharedSignals

	// HTTPClient fetches the OP's discovery document and keys, and the
	// Shared Signals transmitter's configuration and keys; its timeout and
	// redirect policy are the caller's. Default: a client that times out
	// after 10 s and refuses a redirect to plain http.
	HTTPClient *http.Client
	// Verify tightens or adapts token validation: rp.WithAlgorithms for a
	// client registered with another algorithm than RS256,
	// rp.WithDecryptionKeys for encrypted logout tokens,
	// rp.WithRequireExp, … Default: none (Back-Channel Logout §2.6 with the
	// defaults the rp package documents).
	Verify []rp.Option
	// Metrics receives what every door observed, labelled by door
	// (prommetrics.New(reg) for Prometheus); Observe is the function
	// rp.WithMetrics documents. If it also has a JWKSRefreshed(url
	// string, err error) method, as prommetrics' does, it hears of each
	// key refresh too. Default: none.
	Metrics interface {
		Observe(door, issuer, outcome string, sessionsEnded int, elapsed time.Duration)
	}
	// OnLogout is called after each logout that ended its sessions,
	// whichever door it came through (e.Door: a logout token, a
	// front-channel request, the app's Sign out, a Security Event Token),
	// also after a retry that did: revoke the refresh tokens of those
	// sessions (Back-Channel Logout §2.7), or pass the logout on if the
	// app is itself an OP. A panic in it is logged, never fatal. Default:
	// none.
	OnLogout func(ctx context.Context, e *rp.LogoutEvent, sessionsEnded int)
	// OnReject is called for every request a door refused (a forged or
	// replayed token, a front-channel request from another issuer, a SET
	// without the bearer token, …) and for every logout whose store work
	// failed (ErrTemporary, queued for retry), with the door and the
	// detailed error: errors.Is against rp's sentinels tells its class.
	// The network only ever gets a generic answer. A panic in it is
	// logged, never fatal. Default: none (rejections are logged at Warn).
	OnReject func(ctx context.Context, door string, r *http.Request, err error)
	// Logger receives the rejections (Warn) and the failures (Error).
	// Default: slog.Default().
	Logger *slog.Logger
}

// RP ends and keeps ended the sessions of one app for one OP. It gives the
// doors a logout comes through (Endpoints for the OP's back-channel and
// front-channel logouts and Security Event Tokens, SignOut for the app's
// own), the guard for every other route, and the login step. It is safe
// for concurrent use.
type RP struct {
	handler  *rp.Handler
	verifier *rp.Verifier         // the OP's keys and policy; Login judges ID tokens with it
	ender    sessionadapter.Store // revokes, then deletes; its Bind refuses a logged-out login
	hints    idTokenHinter        // Bindings, when they give back the ID token
	sessions sessionadapter.Sessions
	guard    func(http.Handler) http.Handler
	closers  []func() error
	logger   *slog.Logger
	issuer   string
	clientID string

	// Sign-out (signout.go) and front-channel logout (frontchannel.go).
	endSession                        *url.URL // nil when the OP has none
	cognito                           bool     // AWS Cognito's /logout: client_id and logout_uri
	postLogout                        string
	signedOut, signOutFailed          http.Handler
	stateName, statePath              string
	stateSecure                       bool
	frameAncestors                    string
	frontChannel, frontChannelSession bool

	// The doors' paths, checked by setPaths ("" for a door not served):
	// New hands the back-channel one to the rp.Handler (rp.WithPath),
	// whose Wrap serves it; Endpoints serves the other two.
	backChannelPath, frontChannelPath, sharedSignalsPath string

	signals *signals // nil without Config.SharedSignals (sharedsignals.go)
}

// New fetches the OP's discovery document and keys (so a wrong issuer
// fails here, not at the first logout) and wires the endpoint, the guard
// and the login step. ctx bounds those fetches only: the background work
// New starts (the key refresher, the retry queue) runs until Close, not
// until ctx ends.
func New(ctx context.Context, cfg Config) (*RP, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errs.Config("bclogout", "no Issuer")
	case cfg.ClientID == "":
		return nil, errs.Config("bclogout", "no ClientID")
	case cfg.Sessions == nil:
		return nil, errs.Config("bclogout", "no Sessions (scsadapter.New and gorillaadapter.New give none for a nil manager or store)")
	case cfg.SessionLifetime < 0:
		return nil, errs.Config("bclogout", "SessionLifetime %v is negative", cfg.SessionLifetime)
	}
	lifetime := cfg.SessionLifetime
	if lifetime == 0 {
		lifetime = defaults.SessionLifetime
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	b := &RP{sessions: cfg.Sessions, logger: logger, issuer: cfg.Issuer, signedOut: cfg.SignedOut, signOutFailed: cfg.SignOutFailed}
	if b.signOutFailed == nil {
		b.signOutFailed = http.HandlerFunc(defaultSignOutFailed)
	}
	if err := b.setSignOut(cfg.ClientID, cfg.PostLogoutRedirectURI); err != nil {
		return nil, err
	}
	if err := b.setPaths(cfg); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			b.close()
		}
	}()

	dopts := make([]rp.Option, 0, len(cfg.Verify)+1)
	for _, o := range cfg.Verify {
		if o == nil {
			return nil, errs.Config("bclogout", "nil option in Verify")
		}
		dopts = append(dopts, o)
	}
	// One client for every fetch: the discovery document, the keys and the
	// transmitter's configuration. Without the caller's, one that refuses
	// a redirect to plain http, closed last, once every key set is.
	hc := cfg.HTTPClient
	if hc == nil {
		hc = discovery.NewClient(false)
		b.closers = append(b.closers, func() error { hc.CloseIdleConnections(); return nil })
	}
	jopts := []jwks.Option{jwks.WithLogger(logger), jwks.WithHTTPClient(hc)}
	if m, ok := cfg.Metrics.(interface{ JWKSRefreshed(string, error) }); ok {
		jopts = append(jopts, jwks.WithOnRefresh(m.JWKSRefreshed))
	}
	dopts = append(dopts, rp.WithJWKSOptions(jopts...))
	// The OP's discovery document is fetched once, by rp.Discover, which
	// hands New the document and its key set through op.
	var op discovery.Found[*jwks.Remote]
	v, err := rp.Discover(discovery.WithFound(ctx, &op), cfg.Issuer, cfg.ClientID, dopts...)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, v.Close)
	b.verifier = v
	if op.Metadata == nil || op.Keys == nil {
		return nil, errors.New("bclogout: discovery: rp.Discover reported no metadata")
	}
	md := op.Metadata
	if err := b.setLogoutMetadata(md); err != nil {
		return nil, err
	}
	logger.DebugContext(ctx, "bclogout: the OP's logout support",
		slog.String("issuer", cfg.Issuer),
		slog.String("end_session_endpoint", md.EndSessionEndpoint),
		slog.Bool("frontchannel_logout_supported", md.FrontchannelLogoutSupported),
		slog.Bool("frontchannel_logout_session_supported", md.FrontchannelLogoutSessionSupported))

	revs := cfg.Revocations
	if revs == nil {
		if revs, err = sessionadapter.NewMemoryRevocations(); err != nil {
			return nil, err
		}
	}
	bindings := cfg.Bindings
	if bindings == nil {
		mopts := []sessionadapter.Option{sessionadapter.WithSessionLifetime(lifetime), sessionadapter.WithLogger(logger)}
		if d, ok := cfg.Sessions.(sessionadapter.Deleter); ok {
			mopts = append(mopts, sessionadapter.WithDeleter(d))
		}
		if bindings, err = sessionadapter.NewMemory(mopts...); err != nil {
			return nil, err
		}
	}
	b.hints, _ = bindings.(idTokenHinter)
	if b.ender, err = sessionadapter.NewRevokingEnder(revs, sessionadapter.WithStore(bindings), sessionadapter.WithSessionLifetime(lifetime), sessionadapter.WithLogger(logger)); err != nil {
		return nil, err
	}

	// One replay cache for logout tokens and SETs: both are keyed by
	// (iss, jti).
	rc := cfg.ReplayCache
	if rc == nil {
		rc = replay.NewMemory(0)
	}
	if cfg.SharedSignals != nil {
		s, closeKeys, err := newSignals(ctx, cfg, hc, jopts, &op, logger)
		if err != nil {
			return nil, err
		}
		b.signals = s
		b.closers = append(b.closers, closeKeys)
	}
	hopts := []rp.HandlerOption{rp.WithLogger(logger), rp.WithRetry(lifetime), rp.WithReplayCache(rc), rp.WithPath(b.backChannelPath)}
	if cfg.OnLogout != nil {
		hopts = append(hopts, rp.WithOnLogout(cfg.OnLogout))
	}
	if cfg.OnReject != nil {
		hopts = append(hopts, rp.WithOnReject(cfg.OnReject))
	}
	if cfg.Metrics != nil {
		hopts = append(hopts, rp.WithMetrics(cfg.Metrics.Observe))
	}
	if b.handler, err = rp.NewHandler(v, b.ender, hopts...); err != nil {
		return nil, err
	}

	sessions, signedOut := cfg.Sessions, cfg.SignedOut
	b.guard, err = middleware.Guard(revs, sessions.Lookup,
		middleware.WithLogger(logger),
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if err := sessions.End(w, r); err != nil {
				// The session could not be ended: refuse the request
				// rather than serve a revoked session.
				logger.ErrorContext(r.Context(), "bclogout: ending a revoked session failed", slog.Any("error", err))
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "session ended", http.StatusUnauthorized)
				return
			}
			if signedOut != nil {
				signedOut.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		}))
	if err != nil {
		return nil, err
	}
	ok = true
	return b, nil
}

// Endpoints serves the requests the OP, or a Shared Signals transmitter,
// sends to the app, and hands every other request to next, unchanged: the
// back-channel logout at Config.BackChannelPath, and, when configured,
// front-channel logout at Config.FrontChannelPath and the Security Event
// Token push endpoint at SharedSignals.Path. Wrap it once around what the
// server serves (with chi, echo or gin, around the router: echo's Start
// serves e itself, so serve it from an http.Server of the app's), outside
// the session loading (scs's LoadAndSave), the guard, CSRF checks and
// "must be signed in" redirects: these requests carry no session cookie
// and no CSRF token, and must meet none of them. Each endpoint answers
// every method of its path itself (a GET to the back-channel logout gets
// 405 with Allow: POST).
//
// A request is a door's when its path, unescaped (r.URL.Path), is that
// door's path; every other one reaches next as it came, not even cleaned
// or redirected (an app whose own ServeMux redirects //a or /a/../b to the
// clean path still does, and the redirected request finds the door).
// Endpoints is no http.ServeMux: one would set the request's Pattern and
// path values to its own before next, where the app's router and
// middleware read them, and would answer a path it cleans, a CONNECT and
// "OPTIONS *" itself. next nil answers 404 to every other request.
func (b *RP) Endpoints(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	if b.frontChannelPath != "" || b.sharedSignalsPath != "" {
		app := next
		next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A door not configured has the path "", which a CONNECT's
			// r.URL.Path also is.
			switch p := r.URL.Path; {
			case p == b.frontChannelPath && p != "":
				b.serveFrontChannel(w, r)
			case p == b.sharedSignalsPath && p != "":
				b.serveSharedSignals(w, r)
			default:
				app.ServeHTTP(w, r)
			}
		})
	}
	// The back-channel door first, the pipeline's own (rp.Handler.Wrap at
	// BackChannelPath): a logout token meets no code of this package on
	// its way to the sessions.
	return b.handler.Wrap(next)
}

// setPaths checks the doors' paths and where the sign-out route is: one
// path serves one door. PostLogoutRedirectURI's path is compared unescaped,
// as Endpoints matches a request's: /backchannel%2Dlogout is the door's.
func (b *RP) setPaths(cfg Config) error {
	b.backChannelPath = cmp.Or(cfg.BackChannelPath, defaults.BackChannelPath)
	b.frontChannelPath = cfg.FrontChannelPath
	if cfg.SharedSignals != nil {
		b.sharedSignalsPath = cmp.Or(cfg.SharedSignals.Path, "/shared-signals")
	}
	seen := map[string]string{}
	if b.postLogout != "" {
		// The OP sends the browser back there: the sign-out route's.
		u, _ := url.Parse(b.postLogout) // checked by setSignOut
		seen[u.Path] = "PostLogoutRedirectURI's path"
	}
	for _, p := range []struct{ name, path string }{
		{"BackChannelPath", b.backChannelPath},
		{"FrontChannelPath", b.frontChannelPath},
		{"SharedSignals.Path", b.sharedSignalsPath},
	} {
		if p.path == "" {
			continue
		}
		if err := mount.CheckPath(p.name, p.path); err != nil {
			return errs.Config("bclogout", "%v", err)
		}
		if other, ok := seen[p.path]; ok {
			return errs.Config("bclogout", "%s and %s are both %q", other, p.name, p.path)
		}
		seen[p.path] = p.name
	}
	return nil
}

// Guard wraps the app's routes: a request whose session a logout ended has
// its session ended (Config.Sessions' End) and is then served by
// Config.SignedOut, or on as anonymous. With scs, put it inside
// sm.LoadAndSave, which loads the session it reads. When the revocations
// cannot be read (a Redis replica that lost its feed), it answers 503
// rather than serve a session that may be logged out.
func (b *RP) Guard(next http.Handler) http.Handler {
	return b.guard(next)
}

// Login ties the request's session to the OP session of the raw ID token
// the app got from the OP's token endpoint (with x/oauth2:
// tok.Extra("id_token").(string)), in the login callback before the
// response is written. It verifies the token itself with the OP's keys
// (rp.Verifier.VerifyIDToken: signature, iss, aud, exp, iat, sub), stashes
// the issuer, subject, sid and login time in the session (renewing its ID
// where the library can) and binds it, so that the OP's logout ends it,
// keeping the raw token with the binding (Config.Bindings, server-side;
// never in the session, so a cookie session stays small) for SignOut's
// id_token_hint. The nonce and at_hash are the login flow's: the app's
// OIDC library must still validate the login (go-oidc's Verify and its
// nonce check). When binding fails, Login ends the session it stashed
// the login in before returning the error: the user is not signed in. The
// error wraps sessionadapter.ErrRevoked when the OP session of the ID
// token was logged out while the login was in flight (the logout token
// arrived before the callback): show the signed-out page.
//
// Whether Login saves the session is the session library's way: with scs,
// LoadAndSave saves it when the handler returns, so put the app's own
// values in after Login succeeds (an ID token Login refuses leaves the
// session as it was, and values put in before would be saved with no
// login); with gorilla, Login saves it (a server-side store gives it its
// new ID then), so put them in before Login, or Save again after.
//
// Login logs why it failed (Config.Logger): at Info a login whose OP
// session was logged out in flight (after sessionadapter's own Warn), at
// Warn an ID token it refused, at Error a failure of the keys or the
// stores, a session it could not end included. The app's branch need only
// send the user on.
func (b *RP) Login(w http.ResponseWriter, r *http.Request, rawIDToken string) error {
	err := b.login(w, r, rawIDToken)
	if err != nil {
		level := slog.LevelError
		var notEnded *sessionNotEnded
		switch reason := rejection.Reason(err); {
		case errors.As(err, &notEnded):
			// The session holding the refused login is still there.
		case errors.Is(err, sessionadapter.ErrRevoked):
			level = slog.LevelInfo
		case reason != "internal" && reason != "temporary":
			level = slog.LevelWarn
		}
		b.logger.Log(r.Context(), level, "bclogout: login refused", slog.Any("error", err))
	}
	return err
}

func (b *RP) login(w http.ResponseWriter, r *http.Request, rawIDToken string) error {
	login, err := b.verifier.VerifyIDToken(r.Context(), rawIDToken)
	if err != nil {
		return fmt.Errorf("bclogout: login: %w", err)
	}
	binding, err := b.sessions.Stash(w, r, login)
	if err != nil {
		return err
	}
	// Kept server-side with the binding for sign-out's id_token_hint,
	// whatever Stash gave back: it never goes into the session.
	binding.IDToken = login.IDToken
	if err := b.ender.Bind(r.Context(), binding); err != nil {
		// The login is not signed in: end the session Stash wrote it to
		// (and, for gorilla, saved), so the error Login returns is true of
		// the session too.
		err = fmt.Errorf("bclogout: login: %w", err)
		if endErr := b.sessions.End(w, r); endErr != nil {
			return errors.Join(err, &sessionNotEnded{endErr})
		}
		return err
	}
	return nil
}

// sessionNotEnded is Login's failure to end the session it stashed a
// refused login in: a store failure, logged at Error whatever the login's
// own error was. Its message is the session library's.
type sessionNotEnded struct{ err error }

func (e *sessionNotEnded) Error() string { return e.err.Error() }
func (e *sessionNotEnded) Unwrap() error { return e.err }

// Close stops the background work New started, as http.Server.Shutdown
// stops a server: it retries pending logouts until ctx is done, then stops
// the key refresher. The logouts still pending when ctx ends are logged,
// one line each at Error, and counted in its error. Call it after the
// server's Shutdown, with the same context. An app without a graceful
// shutdown may leave it out, losing the logouts still waiting for a retry
// when the process ends (a store that failed one may have recorded no
// revocation). A test that can leave a logout pending (it makes a store
// fail) should call it when it ends: an RP left open goes on retrying
// after the test, ending sessions, calling OnLogout and logging through
// Config.Logger.
func (b *RP) Close(ctx context.Context) error {
	var err error
	if b.handler != nil {
		err = b.handler.Close(ctx)
	}
	return errors.Join(err, b.close())
}

func (b *RP) close() error {
	var err error
	for i := len(b.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, b.closers[i]())
	}
	b.closers = nil
	return err
}
