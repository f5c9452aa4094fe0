package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/mount"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/prommetrics"
	"github.com/bclogout/bclogout/replay/redisreplay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// revocationSkew is added to --max-session-age for how long a revocation
// is kept: a sid revocation ends logins whose iat is up to the
// revocations' one-minute skew after it, and such a login's token is
// accepted until its iat plus the maximum age.
const revocationSkew = 2 * time.Minute

// guardLimits bound a connection of the guard. Upstream mode proxies the
// app's uploads and downloads, so reads and writes get far longer than the
// receiver's; headers must still arrive within ReadHeaderTimeout (10 s).
var guardLimits = serverLimits{read: 15 * time.Minute, write: 15 * time.Minute, idle: 2 * time.Minute}

// check validates the flags, as a usage error.
func (f guardFlags) check() error {
	switch {
	case f.issuer == "":
		return errors.New("--issuer is required")
	case f.clientID == "":
		return errors.New("--client-id is required")
	case f.maxSessionAge <= 0:
		return errors.New("--max-session-age must be positive")
	case f.header == "":
		return errors.New("--id-token-header must not be empty")
	}
	for _, u := range []struct{ flag, url string }{{"--upstream", f.upstream}, {"--auth-request-url", f.authRequestURL}} {
		if u.url == "" {
			continue
		}
		p, err := url.Parse(u.url)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("%s %q is not an http(s) URL", u.flag, u.url)
		}
	}
	if f.signOutURL == "" {
		return errors.New("--sign-out-url must not be empty")
	}
	// One path serves one endpoint (bclogout.New checks the logout
	// paths again; --auth-path is this command's own).
	seen := map[string]string{}
	for _, p := range []struct{ flag, path string }{{"--auth-path", f.authPath}, {"--logout-path", f.logoutPath}, {"--frontchannel-path", f.frontPath}, {"--ssf-path", f.ssfPath}} {
		if p.path == "" && (p.flag == "--ssf-path" || p.flag == "--frontchannel-path") {
			continue
		}
		if err := mount.CheckPath(p.flag, p.path); err != nil {
			return err
		}
		if other, ok := seen[p.path]; ok {
			return fmt.Errorf("%s and %s are both %q", other, p.flag, p.path)
		}
		seen[p.path] = p.flag
	}
	if !f.allowPublic {
		if err := loopbackOnly(f.addr); err != nil {
			return fmt.Errorf("--addr: %v; pass --allow-public if only the auth proxy can reach it", err)
		}
	}
	return nil
}

// loopbackOnly refuses a listen address that other hosts can reach: a
// request that reaches the guard without passing the auth proxy brings
// headers of its own choosing.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address", host)
}

// guard is the service: the OP's doors (through bclogout.New's one
// pipeline), the revocations they record, and the check of each proxied
// request against them.
type guard struct {
	front   *bclogout.RP
	idToken *rp.Verifier // ID tokens only: exp tolerance of the maximum session age
	revs    sessionadapter.Revocations
	maxAge  time.Duration
	header  string
	signOut string
	// authURL, with --auth-request-url, is asked for the ID token of
	// each forward-auth request, by authClient.
	authURL    string
	authClient *http.Client
	now        func() time.Time
	logger     *slog.Logger
	ready      atomic.Bool
	handler    http.Handler

	closeOnce sync.Once
	closers   []func(context.Context) error
}

// guardDeps are what the caller provides: the registry of the metrics
// and the clock (default time.Now).
type guardDeps struct {
	metrics prometheus.Registerer
	now     func() time.Time
}

// newGuard discovers the OP, loads its keys and the revocations, and
// builds the service's handler. Close releases what it started.
func newGuard(ctx context.Context, f guardFlags, logger *slog.Logger, deps guardDeps) (g *guard, err error) {
	if deps.now == nil {
		deps.now = time.Now
	}
	if deps.metrics == nil {
		deps.metrics = prometheus.NewRegistry()
	}
	g = &guard{maxAge: f.maxSessionAge, header: http.CanonicalHeaderKey(f.header), signOut: f.signOutURL, now: deps.now, logger: logger, authURL: f.authRequestURL}
	if g.authURL != "" {
		g.authClient = &http.Client{
			Timeout:       5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		g.closers = append(g.closers, func(context.Context) error { g.authClient.CloseIdleConnections(); return nil })
	}
	defer func() {
		if err != nil {
			_ = g.Close(context.WithoutCancel(ctx))
		}
	}()
	var algs []string
	for _, a := range strings.Split(f.alg, ",") {
		if a = strings.TrimSpace(a); a != "" {
			algs = append(algs, a)
		}
	}
	var verify []rp.Option
	if len(algs) > 0 {
		verify = append(verify, rp.WithAlgorithms(algs...))
	}

	cfg := bclogout.Config{
		Issuer: f.issuer, ClientID: f.clientID,
		Sessions: noSessions{},
		// Kept for as long as a token of the login is accepted.
		SessionLifetime:  f.maxSessionAge + revocationSkew,
		Verify:           verify,
		Logger:           logger,
		BackChannelPath:  f.logoutPath,
		FrontChannelPath: f.frontPath,
	}
	if f.ssfPath != "" {
		cfg.SharedSignals = &bclogout.SharedSignals{Path: f.ssfPath, Transmitter: f.ssfTransmitter, Audience: f.ssfAudience, BearerToken: f.ssfBearer}
	}
	if f.redisURL != "" {
		opt, err := redis.ParseURL(f.redisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		opt.ContextTimeoutEnabled = true
		rdb := redis.NewClient(opt)
		g.closers = append(g.closers, func(context.Context) error { return rdb.Close() })
		ropts := []redisadapter.Option{redisadapter.WithLogger(logger)}
		replayPrefix := ""
		if f.redisPrefix != "" {
			ropts = append(ropts, redisadapter.WithKeyPrefix(f.redisPrefix))
			replayPrefix = f.redisPrefix + "jti:"
		}
		revs, err := redisadapter.NewRevocations(rdb, ropts...)
		if err != nil {
			return nil, err
		}
		g.closers = append(g.closers, func(context.Context) error { return revs.Close() })
		// Ready only once this instance holds every revocation kept.
		if err := revs.Wait(ctx); err != nil {
			return nil, fmt.Errorf("loading the revocations from Redis: %w", err)
		}
		if cfg.ReplayCache, err = redisreplay.New(rdb, replayPrefix); err != nil {
			return nil, err
		}
		cfg.Revocations = revs
	} else {
		if cfg.Revocations, err = sessionadapter.NewMemoryRevocations(); err != nil {
			return nil, err
		}
	}
	g.revs = cfg.Revocations
	m, err := prommetrics.New(deps.metrics)
	if err != nil {
		return nil, err
	}
	cfg.Metrics = m

	front, err := bclogout.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	g.front = front
	g.closers = append(g.closers, front.Close)

	// The ID token's own verifier: bclogout.New keeps its verifier for
	// logout tokens, whose freshness rules must not loosen. An ID token's
	// exp is the OP's token lifetime (often an hour), not the login's:
	// an auth proxy without a refresh token keeps passing it for its whole
	// session. The clock skew is the one tolerance VerifyIDToken applies
	// to exp, so a skew of the maximum session age accepts such a token;
	// judge bounds it by its iat instead. An iat in the future stays
	// within the OP clock skew whatever this one is (VerifyIDToken).
	idOpts := append(slices.Clone(verify), rp.WithClockSkew(f.maxSessionAge), rp.WithJWKSOptions(jwks.WithLogger(logger)))
	if g.idToken, err = rp.Discover(ctx, f.issuer, f.clientID, idOpts...); err != nil {
		return nil, err
	}
	g.closers = append(g.closers, func(context.Context) error { return g.idToken.Close() })

	mux := http.NewServeMux()
	mux.Handle(f.authPath, http.HandlerFunc(g.forwardAuth))
	if f.upstream != "" {
		u, _ := url.Parse(f.upstream) // checked by check
		mux.Handle("/", g.proxy(u))
	} else {
		mux.Handle("/", http.NotFoundHandler())
	}
	g.handler = front.Endpoints(mux) // the logout paths, ahead of the rest
	g.ready.Store(true)
	return g, nil
}

// Close stops the key refreshers, the pipeline's retries and the Redis
// feed, last started first.
func (g *guard) Close(ctx context.Context) error {
	var err error
	g.closeOnce.Do(func() {
		g.ready.Store(false)
		for i := len(g.closers) - 1; i >= 0; i-- {
			err = errors.Join(err, g.closers[i](ctx))
		}
	})
	return err
}

// ServeHTTP serves the proxy's traffic and the OP's logouts.
func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Ready reports whether the guard holds the OP's keys and every kept
// revocation, and is not closed.
func (g *guard) Ready() bool { return g.ready.Load() }

// adminHandler serves readiness (ready reports it), liveness and the
// metrics of reg.
func adminHandler(ready func() bool, reg prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// verdict is what the guard makes of a request's login.
type verdict int

const (
	live      verdict = iota // a verified ID token of a login no logout ended
	noToken                  // no ID token: the request did not pass the auth proxy
	refused                  // forged, foreign, malformed or too old
	loggedOut                // a logout ended the login
	unknown                  // the keys or the revocations cannot be read now
)

func (v verdict) String() string {
	switch v {
	case live:
		return "live"
	case noToken:
		return "missing"
	case refused:
		return "refused"
	case loggedOut:
		return "logged_out"
	}
	return "unknown"
}

// errTooOld refuses an ID token whose login is older than the maximum
// session age: no auth proxy session can still hold it.
var errTooOld = errors.New("guard: login older than --max-session-age")

// judge verifies the ID token in h (the request's headers, or the auth
// proxy's answer) and looks its login up in the revocations. The lookup
// reads memory only.
func (g *guard) judge(r *http.Request, h http.Header) (verdict, sessionadapter.Binding, error) {
	raw, v := g.token(h)
	if v != live {
		return v, sessionadapter.Binding{}, nil
	}
	login, err := g.idToken.VerifyIDToken(r.Context(), raw)
	if err != nil {
		if errors.Is(err, rp.ErrTemporary) {
			return unknown, login, err
		}
		return refused, login, err
	}
	if now := g.now(); !now.Before(login.LoginTime.Add(g.maxAge)) {
		return refused, login, fmt.Errorf("%w: iat %v", errTooOld, login.LoginTime.UTC())
	}
	revoked, err := g.revs.Revoked(r.Context(), login)
	// A token refreshed after its OP session's logout has a later iat
	// than the logout but the login's auth_time: a logout of that sid
	// ends it too. Only the sid is asked (no sub), so a logout of all
	// the user's sessions is still judged by iat and a new login after
	// it is not refused for an auth_time the OP kept from an older one.
	if err == nil && !revoked && login.SessionID != "" {
		if at, ok := authTime(raw); ok && at.Before(login.LoginTime) {
			revoked, err = g.revs.Revoked(r.Context(), sessionadapter.Binding{Issuer: login.Issuer, SessionID: login.SessionID, LoginTime: at})
		}
	}
	switch {
	case err != nil:
		return unknown, login, err
	case revoked:
		return loggedOut, login, nil
	}
	return live, login, nil
}

// token returns the raw ID token of the header, or why there is none to
// verify.
func (g *guard) token(h http.Header) (string, verdict) {
	vals := h.Values(g.header)
	switch len(vals) {
	case 0:
		return "", noToken
	case 1:
	default:
		return "", refused // two tokens: which one the app reads is anyone's guess
	}
	v := strings.TrimSpace(vals[0])
	scheme, rest, ok := strings.Cut(v, " ")
	switch {
	case ok && strings.EqualFold(scheme, "Bearer"):
		v = strings.TrimSpace(rest)
	case g.header == "Authorization":
		return "", refused // Basic or another scheme
	}
	if v == "" {
		return "", noToken
	}
	return v, live
}

// authTime reads auth_time from a compact JWS that VerifyIDToken has
// accepted (so its payload is the strict JSON object the signature
// covers); an encrypted token, or one without auth_time, has none.
func authTime(raw string) (time.Time, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		AuthTime *json.Number `json:"auth_time"`
	}
	if json.Unmarshal(payload, &c) != nil || c.AuthTime == nil {
		return time.Time{}, false
	}
	sec, err := c.AuthTime.Float64()
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(sec * 1000)), true
}

// log records a refusal at Warn and an unknown answer at Error; a live
// request is routine (Debug).
func (g *guard) log(r *http.Request, mode string, v verdict, login sessionadapter.Binding, err error) {
	level := slog.LevelWarn
	switch v {
	case live:
		level = slog.LevelDebug
	case unknown:
		level = slog.LevelError
	}
	if !g.logger.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("mode", mode), slog.String("verdict", v.String()), slog.String("path", r.URL.Path)}
	if login.Issuer != "" {
		attrs = append(attrs, slog.String("iss", login.Issuer), slog.String("sub", login.Subject), slog.String("sid", login.SessionID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	g.logger.LogAttrs(r.Context(), level, "guard: "+v.String(), attrs...)
}

// forwardAuth is the check endpoint of nginx auth_request, Traefik
// ForwardAuth and Envoy ext_authz: 200 for a live login, 401 for any
// other, 503 when it cannot tell. With --auth-request-url the ID token is
// the auth proxy's answer's, never the request's, and a live login's 200
// carries that answer's headers for auth_request_set.
func (g *guard) forwardAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h := r.Header
	if g.authURL != "" {
		status, answer, err := g.askAuthProxy(r)
		switch {
		case err != nil:
			g.logger.ErrorContext(r.Context(), "guard: asking the auth proxy failed", slog.String("error", err.Error()))
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
			return
		case status/100 != 2:
			// Not signed in at the auth proxy: its answer stands (401,
			// or 403), and nginx's error_page sends the browser to sign in.
			if status != http.StatusForbidden {
				status = http.StatusUnauthorized
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		h = answer
	}
	v, login, err := g.judge(r, h)
	g.log(r, "forward-auth", v, login, err)
	switch v {
	case live:
		if g.authURL != "" {
			for k, vs := range h {
				if passedOn(k) {
					w.Header()[k] = vs
				}
			}
		}
		w.WriteHeader(http.StatusOK)
	case unknown:
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
	default:
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
	}
}

// passedOn reports whether a header of the auth proxy's answer goes on
// in the guard's: oauth2-proxy's identity headers, the ID token, and the
// cookie it refreshed.
func passedOn(name string) bool {
	return name == "Authorization" || name == "Set-Cookie" || strings.HasPrefix(name, "X-Auth-Request-")
}

// maxAuthAnswer bounds what the guard reads of the auth proxy's answer
// body, which it discards.
const maxAuthAnswer = 64 << 10

// askAuthProxy asks --auth-request-url about the request, with its
// headers (the cookie of the auth proxy's session among them), and
// returns the status and headers of the answer.
func (g *guard) askAuthProxy(r *http.Request) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, g.authURL, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.Header.Clone()
	// The headers of one connection (RFC 9110 §7.6.1) stay behind.
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"} {
		req.Header.Del(k)
	}
	resp, err := g.authClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAuthAnswer))
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// proxy forwards live logins to the app. The X-Forwarded-* headers the
// auth proxy set are kept, and so is the Host it asked for.
func (g *guard) proxy(upstream *url.URL) http.Handler {
	rpx := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = pr.In.Host
			for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v := pr.In.Header.Values(h); len(v) > 0 {
					pr.Out.Header[h] = v
				}
			}
		},
		ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelError),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, login, err := g.judge(r, r.Header)
		g.log(r, "upstream", v, login, err)
		switch v {
		case live:
			rpx.ServeHTTP(w, r)
			return
		case unknown:
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
			return
		case loggedOut:
			if pageLoad(r) {
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, g.signOutTo(r), http.StatusFound)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
	})
}

// pageLoad reports whether r is a browser's navigation, which a redirect
// to the sign-out can serve; an API call or a form post gets 401.
func pageLoad(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// signOutTo is the sign-out URL with rd= the page asked for (a path,
// which oauth2-proxy's redirect check accepts).
func (g *guard) signOutTo(r *http.Request) string {
	sep := "?"
	if strings.Contains(g.signOut, "?") {
		sep = "&"
	}
	return g.signOut + sep + "rd=" + url.QueryEscape(r.URL.RequestURI())
}

// noSessions is the guard's session library: it has none. The auth proxy
// holds the sessions (oauth2-proxy's cookie), which the guard cannot
// read or delete; the revocations and the check of each request keep
// them ended.
type noSessions struct{}

var _ sessionadapter.Sessions = noSessions{}

var errNoSessions = errors.New("guard: no sessions of its own")

func (noSessions) Stash(http.ResponseWriter, *http.Request, sessionadapter.Binding) (sessionadapter.Binding, error) {
	return sessionadapter.Binding{}, errNoSessions
}

func (noSessions) Lookup(*http.Request) (sessionadapter.Binding, bool) {
	return sessionadapter.Binding{}, false
}

func (noSessions) End(http.ResponseWriter, *http.Request) error { return nil }

func runGuard(ctx context.Context, s streams, f guardFlags, args []string) int {
	if len(args) > 0 {
		return usageError(s, "guard", "unexpected argument %q", args[0])
	}
	if err := f.check(); err != nil {
		return usageError(s, "guard", "%v", err)
	}
	logger := slog.New(slog.NewJSONHandler(s.stderr, nil))
	// Listen before loading, so that an address in use is reported at
	// once and /readyz answers 503 while the keys and revocations load.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return failure(s, "guard", err)
	}
	defer ln.Close()
	reg := prometheus.NewRegistry()
	var g atomic.Pointer[guard] // nil until loaded
	ready := func() bool { p := g.Load(); return p != nil && p.Ready() }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var adminDone chan error
	if f.adminAddr != "" {
		aln, err := net.Listen("tcp", f.adminAddr)
		if err != nil {
			return failure(s, "guard", err)
		}
		adminDone = make(chan error, 1)
		go func() { adminDone <- serve(ctx, aln, adminHandler(ready, reg), logger) }()
		logger.Info("guard: admin listening", slog.String("addr", aln.Addr().String()))
	}
	gd, err := newGuard(ctx, f, logger, guardDeps{metrics: reg})
	if err != nil {
		cancel()
		if adminDone != nil {
			<-adminDone
		}
		return failure(s, "guard", err)
	}
	g.Store(gd)
	mode := "forward-auth"
	if f.upstream != "" {
		mode = "upstream"
	}
	logger.Info("guard: listening", slog.String("addr", ln.Addr().String()), slog.String("mode", mode),
		slog.String("issuer", f.issuer), slog.String("upstream", f.upstream), slog.Bool("redis", f.redisURL != ""))
	err = serveWith(ctx, ln, gd, logger, guardLimits, nil)
	cancel()
	closeCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	err = errors.Join(err, gd.Close(closeCtx))
	if adminDone != nil {
		err = errors.Join(err, <-adminDone)
	}
	if err != nil {
		return failure(s, "guard", err)
	}
	logger.Info("guard: stopped")
	return exitOK
}
