package opkit

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
)

// Option configures an OP.
type Option func(*config)

type config struct {
	alg             string
	key             *Key
	issuer          string
	clock           func() time.Time
	httpClient      *http.Client
	targets         targetPolicy
	deliveryTimeout time.Duration
	attempts        int
	backoff         time.Duration
	logger          *slog.Logger
	typ             string // "" sends no typ header
	noEndSession    bool
	riscIssuer      bool // transmit as Google does: risc-configuration, issuer with a slash
	errs            []error
}

func defaultConfig() config {
	return config{
		alg:             "RS256",
		clock:           time.Now,
		deliveryTimeout: 5 * time.Second,
		attempts:        3,
		backoff:         500 * time.Millisecond,
		typ:             "logout+jwt",
	}
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, errs.Config("fakeop", format, args...))
}

// WithAlg sets the algorithm of the OP's generated signing keys (default
// RS256). Ignored for the first key when WithKey is given.
func WithAlg(alg string) Option {
	return func(c *config) {
		if _, ok := hashFor(alg); !ok && alg != "EdDSA" {
			c.fail("alg %q", alg)
		}
		c.alg = alg
	}
}

// WithKey makes k the OP's first signing key, e.g. one read from a file so
// tokens minted elsewhere verify against this OP's JWKS.
func WithKey(k *Key) Option {
	return func(c *config) {
		if k == nil || k.Signer == nil {
			c.fail("nil key")
			return
		}
		c.key = k
		c.alg = k.Alg
	}
}

// WithIssuer sets the issuer URL the OP announces, for an OP reached through
// a proxy or a name other than its listen address. Default: the server URL.
func WithIssuer(issuer string) Option {
	return func(c *config) {
		u, err := url.Parse(issuer)
		if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			c.fail("issuer %q must be an absolute URL without query or fragment", issuer)
		}
		c.issuer = issuer
	}
}

// WithClock sets the clock for iat, exp and auth_time (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("nil clock")
			return
		}
		c.clock = now
	}
}

// WithHTTPClient sets the client that delivers logout tokens. When its
// Transport is nil or an *http.Transport, the OP uses a clone with the SSRF
// guard in its dialer: the clone's proxy and every dial hook of its own
// (Dial, DialContext, DialTLS, DialTLSContext) are replaced, since any of
// them would reach the network without the guard. Any other RoundTripper
// has no dialer to guard, so it is refused unless WithAllowPrivateTargets
// is given too: a guard that a custom transport silently switched off
// would be no guard.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			c.fail("nil http client")
			return
		}
		c.httpClient = hc
	}
}

// targetPolicy is which delivery targets the SSRF guard lets through.
type targetPolicy int

const (
	// publicTargets: https logout URIs, and only globally reachable
	// addresses at dial time (the default, as a real OP).
	publicTargets targetPolicy = iota
	// loopbackTargets adds loopback: http logout URIs on 127.0.0.1,
	// [::1] or localhost, and loopback addresses at dial time.
	loopbackTargets
	// privateTargets turns the guard off.
	privateTargets
)

// WithAllowLoopbackTargets is the development opt-in: the OP also accepts
// http back-channel logout URIs whose host is 127.0.0.1, [::1] or
// localhost, and delivers to loopback addresses. Private, link-local and
// every other internal address stay refused, so an RP registered by
// whoever can reach the OP still cannot aim it at the network around it.
// New sets it, because test RPs listen on loopback.
func WithAllowLoopbackTargets() Option {
	return func(c *config) { c.targets = max(c.targets, loopbackTargets) }
}

// WithAllowPrivateTargets is the deliberate private-network opt-in: the OP
// delivers to any address, loopback, private and link-local included,
// accepts http back-channel logout URIs on any host, and takes an HTTP
// client whose transport the guard cannot reach. Only for an OP whose
// clients are all trusted: it turns the OP into an SSRF vector for
// whoever can register a client. It outranks WithAllowLoopbackTargets.
func WithAllowPrivateTargets() Option {
	return func(c *config) { c.targets = privateTargets }
}

// WithDeliveryTimeout bounds each delivery attempt (default 5s).
func WithDeliveryTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("delivery timeout %v", d)
		}
		c.deliveryTimeout = d
	}
}

// WithRetries sets how many delivery attempts an RP gets in total
// (default 3). Only network errors and 5xx answers are retried.
func WithRetries(attempts int) Option {
	return func(c *config) {
		if attempts < 1 {
			c.fail("%d attempts", attempts)
		}
		c.attempts = attempts
	}
}

// WithBackoff sets the wait before the second attempt (default 500ms); it
// doubles before each further attempt.
func WithBackoff(base time.Duration) Option {
	return func(c *config) {
		if base < 0 {
			c.fail("backoff %v", base)
		}
		c.backoff = base
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithTyp sets the typ header of the logout tokens the OP sends (default
// "logout+jwt"), e.g. "JWT" to behave like Keycloak or Hydra.
func WithTyp(typ string) Option {
	return func(c *config) { c.typ = typ }
}

// WithoutTyp makes the OP send logout tokens without a typ header, like
// Dex and the OpenID conformance suite.
func WithoutTyp() Option { return WithTyp("") }

// WithoutEndSession makes discovery leave out end_session_endpoint, as an
// OP without RP-Initiated Logout does (the route itself stays served).
func WithoutEndSession() Option {
	return func(c *config) { c.noEndSession = true }
}

// WithRISCTransmitter makes the OP transmit SETs as Google's
// Cross-Account Protection does: its transmitter configuration is at
// /.well-known/risc-configuration (no ssf-configuration), and the issuer
// it names, the SETs' iss (SETIssuer), is the OP's issuer with a trailing
// slash, which its OpenID issuer does not have.
func WithRISCTransmitter() Option {
	return func(c *config) { c.riscIssuer = true }
}
