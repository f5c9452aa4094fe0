package jwks

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
)

// Defaults, chosen so that an OP's rotation is honoured quickly while the
// OP never sees more than a handful of requests per hour from one RP.
const (
	// Background refresh follows the OP's cache headers within these
	// bounds, and refreshes hourly without them.
	defaultMinRefresh = 5 * time.Minute
	defaultMaxRefresh = 24 * time.Hour
	defaultRefresh    = time.Hour
	// A token with an unknown kid triggers a fetch at most this often.
	defaultKidMissInterval = time.Second
	// maxMissWait bounds a kid miss's wait for the fetch it needs: the
	// next allowed fetch starts within defaultKidMissInterval, and the OP
	// whose delivery waits meanwhile times it out after 5 to 10 s.
	maxMissWait = 1500 * time.Millisecond
	// maxFetch bounds one fetch whatever the HTTP client's timeout: the
	// default client's 10 s, a client without one (http.DefaultClient)
	// too.
	maxFetch = 30 * time.Second
	// retryBase is the first retry delay after a failed background fetch.
	retryBase = 10 * time.Second
	// A background refresh comes up to refreshJitter of its wait early, a
	// retry after between 1-retryJitter and all of its backoff, so that
	// replicas that fetched together (started together, or failed in the
	// same outage) drift apart. A refresh is only shortened, and by
	// little: the OP said how long its set stays fresh, and each fetch
	// earlier than that is load it did not ask for. A retry's wait is our
	// own, and replicas that failed together need spreading the most.
	refreshJitter = 10 // percent
	retryJitter   = 50 // percent
)

// Option configures Discover and NewRemote. A nil option is an invalid
// configuration.
type Option func(*options)

type options struct {
	client          *http.Client
	minRefresh      time.Duration
	maxRefresh      time.Duration
	kidMissInterval time.Duration
	logger          *slog.Logger
	onRefresh       func(url string, err error)
	allowHTTP       bool
	ownClient       bool // client was built here, so Close may close its connections

	// jitter returns a random value in [0, n); tests pin it.
	jitter func(n int64) int64

	errs []error
}

func defaultOptions() options {
	return options{
		minRefresh:      defaultMinRefresh,
		maxRefresh:      defaultMaxRefresh,
		kidMissInterval: defaultKidMissInterval,
		logger:          slog.Default(),
		jitter:          rand.Int64N,
	}
}

func buildOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, errors.New("nil option"))
			continue
		}
		opt(&o)
	}
	if o.minRefresh <= 0 || o.maxRefresh < o.minRefresh {
		o.errs = append(o.errs, fmt.Errorf("refresh bounds [%v, %v] must be positive and ordered", o.minRefresh, o.maxRefresh))
	}
	if o.kidMissInterval < 0 {
		o.errs = append(o.errs, fmt.Errorf("kid-miss interval %v is negative", o.kidMissInterval))
	}
	if len(o.errs) > 0 {
		return o, errs.Config("jwks", "%v", errors.Join(o.errs...))
	}
	if o.client == nil {
		o.client, o.ownClient = defaultClient(o.allowHTTP), true
	}
	return o, nil
}

// defaultClient times out and refuses a redirect that would downgrade to
// an insecure URL: an https jwks_uri must not become plain http. It is the
// client bclogout.New gives every fetch, the transmitter's too.
func defaultClient(allowHTTP bool) *http.Client { return discovery.NewClient(allowHTTP) }

// WithHTTPClient sets the client for every request. Its timeout and
// redirect policy are the caller's: the default client times out after 10 s
// and refuses redirects to insecure URLs. A Remote bounds each fetch to
// 30 s in any case, so that a client without a timeout cannot let one hung
// fetch hold back every later one.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c == nil {
			o.errs = append(o.errs, errors.New("nil http client"))
			return
		}
		o.client = c
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l == nil {
			o.errs = append(o.errs, errors.New("nil logger"))
			return
		}
		o.logger = l
	}
}

// WithOnRefresh sets a hook called after every JWK Set fetch attempt with
// the URL and the attempt's error (nil on success), e.g. for metrics; a
// fetch cut short by Close is not reported. It is called from the fetching
// goroutine, before waiting callers resume, and must not block.
func WithOnRefresh(fn func(url string, err error)) Option {
	return func(o *options) { o.onRefresh = fn }
}

// WithInsecureAllowHTTP accepts plain http URLs for any host, for
// development setups where the OP is reached by a container name over
// http. It MUST NOT be used in production: whoever can alter the traffic
// can then substitute their own keys and log any user out.
func WithInsecureAllowHTTP() Option {
	return func(o *options) { o.allowHTTP = true }
}
