package demo

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/redis/go-redis/v9"
)

// Config configures Start. The zero value is valid: everything on free
// loopback ports, an embedded miniredis, logs to slog.Default().
type Config struct {
	// Addr is the landing page's address; when it is busy a free port is
	// used instead. Empty means a free port.
	Addr string
	// RedisURL is beta's Redis (redis://host:port/db); empty starts an
	// embedded miniredis.
	RedisURL string
	// Logger receives the apps' and the OP's logs.
	Logger *slog.Logger
	// FrontChannel registers beta for front-channel logout only (a
	// frontchannel_logout_uri, no backchannel_logout_uri), as an app of an
	// OP that reaches apps only through the browser (Microsoft Entra ID):
	// the OP's sign-out page then frames beta's front-channel endpoint.
	FrontChannel bool
}

// Demo is the running demo: the fake OP, RP alpha, RP beta and a landing
// page, each on its own loopback port.
type Demo struct {
	op          *opkit.OP
	alpha, beta *rpApp
	landing     string
	rdb         redis.UniversalClient
	mini        *miniredis.Miniredis
	keyPrefix   string
	external    bool
	servers     []*http.Server
	closers     []io.Closer // background loops of the apps' stores, closed before Redis
	notifiers   []io.Closer // open event streams, ended before the servers shut down
	wg          sync.WaitGroup
	closeOnce   sync.Once
	closeErr    error
	logger      *slog.Logger
	httpClient  *http.Client
}

// Start starts the demo. Close stops it.
func Start(ctx context.Context, cfg Config) (d *Demo, err error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	d = &Demo{logger: logger, httpClient: &http.Client{Timeout: 10 * time.Second}}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	// Everything is on loopback, so the OP must be allowed to deliver
	// there, over http.
	if d.op, err = opkit.NewServer("127.0.0.1:0", opkit.WithAllowPrivateTargets(), opkit.WithLogger(logger)); err != nil {
		return nil, err
	}
	landingLn, err := listenWithFallback(cfg.Addr)
	if err != nil {
		return nil, err
	}
	alphaLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		landingLn.Close()
		return nil, fmt.Errorf("demo: listen: %w", err)
	}
	betaLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		landingLn.Close()
		alphaLn.Close()
		return nil, fmt.Errorf("demo: listen: %w", err)
	}
	lns := []net.Listener{landingLn, alphaLn, betaLn}
	closeLns := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	d.landing = "http://" + landingLn.Addr().String()

	tmpl, err := parseTemplates()
	if err != nil {
		closeLns()
		return nil, err
	}
	// The demo's apps sign in too, so they need the whole discovery
	// document, not only the keys jwks.Discover gives.
	meta, err := discovery.Fetch(ctx, d.httpClient, d.op.Issuer(), false)
	if err != nil {
		closeLns()
		return nil, err
	}
	if err := d.connectRedis(ctx, cfg.RedisURL); err != nil {
		closeLns()
		return nil, err
	}

	d.alpha = d.newApp(tmpl, "alpha", "net/http + gorilla CookieStore (stateless) + middleware.Guard and Notifier + memory revocations", "#2456c9", alphaLn)
	d.beta = d.newApp(tmpl, "beta", "chi + server-side sessions in Redis + middleware.Guard and Notifier + revocations fed from Redis", "#8a3fb5", betaLn)
	handlers := make([]http.Handler, 0, 3)
	handlers = append(handlers, http.HandlerFunc(d.serveLanding))
	for _, a := range []*rpApp{d.alpha, d.beta} {
		secret := randomID()
		client := opkit.Client{
			ID: a.name, Secret: secret, RedirectURIs: []string{a.base + "/callback"},
			BackchannelLogoutURI: a.base + logoutPath, SessionRequired: true,
			PostLogoutRedirectURIs: []string{a.base + signOutPath},
		}
		if a == d.beta && cfg.FrontChannel {
			client.BackchannelLogoutURI, client.FrontchannelLogoutURI = "", a.base+frontChannelPath
		}
		if a == d.beta {
			// Beta is also a Shared Signals receiver: the OP pushes it
			// CAEP session-revoked SETs with this bearer token.
			a.setBearer = randomID()
			client.SETDeliveryURI, client.SETBearerToken = a.base+sharedSignalsPath, a.setBearer
		}
		err := d.op.RegisterClient(client)
		if err != nil {
			closeLns()
			return nil, err
		}
		a.oidc = &oidcClient{meta: meta, clientID: a.name, secret: secret, redirectURI: a.base + "/callback", http: d.httpClient}
		var h http.Handler
		if a == d.alpha {
			h, err = newAlpha(ctx, a, &d.closers, &d.notifiers)
		} else {
			h, err = newBeta(ctx, a, d.rdb, d.keyPrefix, &d.closers, &d.notifiers)
		}
		if err != nil {
			closeLns()
			return nil, err
		}
		handlers = append(handlers, h)
	}
	for i, ln := range lns {
		srv := &http.Server{Handler: handlers[i], ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
		d.servers = append(d.servers, srv)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			_ = srv.Serve(ln) // http.ErrServerClosed after Close
		}()
	}
	return d, nil
}

func listenWithFallback(addr string) (net.Listener, error) {
	if addr != "" {
		if ln, err := net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: listen: %w", err)
	}
	return ln, nil
}

func (d *Demo) newApp(tmpl *template.Template, name, stack, accent string, ln net.Listener) *rpApp {
	return &rpApp{
		name: name, stack: stack, accent: accent,
		base:       "http://" + ln.Addr().String(),
		landingURL: d.URL(), opURL: d.OPURL(),
		events: &eventLog{}, tmpl: tmpl, logger: d.logger.With("rp", name),
	}
}

// connectRedis uses the given Redis or starts a miniredis; each demo gets
// its own key prefix (one hash tag, as redisadapter wants on a cluster) so
// demos and tests can share a Redis.
func (d *Demo) connectRedis(ctx context.Context, redisURL string) error {
	d.keyPrefix = "{bclogout-demo-" + randomID()[:10] + "}:"
	if redisURL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("demo: miniredis: %w", err)
		}
		d.mini = m
		d.rdb = redis.NewClient(&redis.Options{Addr: m.Addr()})
		return nil
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("demo: redis url: %w", err)
	}
	d.rdb = redis.NewClient(opt)
	d.external = true
	if err := d.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("demo: redis %s: %w", opt.Addr, err)
	}
	return nil
}

// URL is the landing page.
func (d *Demo) URL() string { return d.landing + "/" }

// OPURL is the OP's home page, with its sessions and "Sign out everywhere".
func (d *Demo) OPURL() string { return d.op.Issuer() + "/" }

// AlphaURL and BetaURL are the RPs' pages.
func (d *Demo) AlphaURL() string { return d.alpha.base + "/" }

// BetaURL is RP beta's page.
func (d *Demo) BetaURL() string { return d.beta.base + "/" }

// Close stops every server and the deliveries in flight, and removes the
// demo's keys from an external Redis.
func (d *Demo) Close() error {
	d.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		for _, n := range d.notifiers {
			errs = append(errs, n.Close()) // Shutdown would wait for the open streams
		}
		for _, srv := range d.servers {
			errs = append(errs, srv.Shutdown(ctx))
		}
		d.wg.Wait()
		for _, c := range d.closers {
			errs = append(errs, c.Close())
		}
		if d.op != nil {
			d.op.Close()
		}
		if d.rdb != nil {
			if d.external {
				errs = append(errs, d.deleteKeys(ctx))
			}
			errs = append(errs, d.rdb.Close())
		}
		if d.mini != nil {
			d.mini.Close()
		}
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}

func (d *Demo) deleteKeys(ctx context.Context) error {
	iter := d.rdb.Scan(ctx, 0, escapeGlob(d.keyPrefix)+"*", 100).Iterator()
	for iter.Next(ctx) {
		if err := d.rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}
