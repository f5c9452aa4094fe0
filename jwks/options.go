package jwks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults, chosen so that an OP's rotation is honoured quickly while the
// OP never sees more than a handful of requests per hour from one RP.
const (
	DefaultMinRefresh      = 5 * time.Minute
	DefaultMaxRefresh      = 24 * time.Hour
	DefaultRefresh         = time.Hour
	DefaultKidMissInterval = time.Second
	DefaultHTTPTimeout     = 10 * time.Second
	// MaxKidMissWaiters is how many Keys calls at most wait for the next
	// kid-miss fetch; beyond it a miss is answered at once with the
	// current set. A wait holds only the caller's own goroutine.
	MaxKidMissWaiters = 4096

	// maxMissWait bounds a kid miss's wait for the fetch it needs: the
	// next allowed fetch starts within DefaultKidMissInterval, and the OP
	// whose delivery waits meanwhile times it out after 5 to 10 s.
	maxMissWait = 1500 * time.Millisecond

	// maxBody caps discovery documents and JWK Sets; real ones are a few
	// KiB (Entra ID's JWKS is about 20 KiB).
	maxBody = 1 << 20
	// retryBase is the first retry delay after a failed background fetch.
	retryBase = 10 * time.Second
)

// RemoteOption configures NewRemote. Those that are also Options (HTTP
// client, logger, insecure http) configure Discover too; the others
// (clock, refresh bounds, kid-miss interval, refresh hook) concern a key
// set that refreshes itself, so Discover does not take them: passing one
// does not compile. A nil option is an ErrInvalidConfig error.
type RemoteOption interface {
	applyRemote(*options)
}

// Option configures both Discover and NewRemote: the HTTP side they share.
type Option interface {
	RemoteOption
	applyDiscover(*options)
}

// sharedOption is an Option; remoteOption only a RemoteOption.
type (
	sharedOption func(*options)
	remoteOption func(*options)
)

func (f sharedOption) applyRemote(o *options)   { f(o) }
func (f sharedOption) applyDiscover(o *options) { f(o) }
func (f remoteOption) applyRemote(o *options)   { f(o) }

type options struct {
	client          *http.Client
	now             func() time.Time
	minRefresh      time.Duration
	maxRefresh      time.Duration
	kidMissInterval time.Duration
	// maxMissWaiters and maxMissWait bound the kid misses waiting for the
	// next allowed fetch: how many, and how long each.
	maxMissWaiters int
	maxMissWait    time.Duration
	logger         *slog.Logger
	onRefresh      func(url string, err error)
	allowHTTP      bool
	ownClient      bool // client was built here, so Close may close its connections

	// newTimer and newMissTimer are replaced by tests to drive the
	// background loop and a kid miss's bounded wait without sleeping.
	newTimer     func(time.Duration) timer
	newMissTimer func(time.Duration) timer

	errs []error
}

// timer is the part of *time.Timer the refresher uses.
type timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

func newRealTimer(d time.Duration) timer { return realTimer{time.NewTimer(d)} }

func defaultOptions() options {
	return options{
		now:             time.Now,
		minRefresh:      DefaultMinRefresh,
		maxRefresh:      DefaultMaxRefresh,
		kidMissInterval: DefaultKidMissInterval,
		maxMissWaiters:  MaxKidMissWaiters,
		maxMissWait:     maxMissWait,
		logger:          slog.Default(),
		newTimer:        newRealTimer,
		newMissTimer:    newRealTimer,
	}
}

// buildDiscoverOptions applies Discover's options.
func buildDiscoverOptions(opts []Option) (options, error) {
	remote := make([]RemoteOption, len(opts))
	for i, opt := range opts {
		if opt != nil {
			remote[i] = opt
		}
	}
	return buildOptions(remote)
}

func buildOptions(opts []RemoteOption) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, errors.New("nil option"))
			continue
		}
		opt.applyRemote(&o)
	}
	if o.minRefresh <= 0 || o.maxRefresh < o.minRefresh {
		o.errs = append(o.errs, fmt.Errorf("refresh bounds [%v, %v] must be positive and ordered", o.minRefresh, o.maxRefresh))
	}
	if o.kidMissInterval < 0 {
		o.errs = append(o.errs, fmt.Errorf("kid-miss interval %v is negative", o.kidMissInterval))
	}
	if len(o.errs) > 0 {
		return o, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(o.errs...))
	}
	if o.client == nil {
		o.client, o.ownClient = defaultClient(o.allowHTTP), true
	}
	return o, nil
}

// defaultClient times out and refuses a redirect that would downgrade to
// an insecure URL: an https jwks_uri must not become plain http.
func defaultClient(allowHTTP bool) *http.Client {
	var transport http.RoundTripper
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		// A transport of our own, so that closing it leaves no
		// connection goroutines behind.
		transport = t.Clone()
	}
	return &http.Client{
		Transport: transport,
		Timeout:   DefaultHTTPTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			return checkURL(req.URL, allowHTTP)
		},
	}
}

// WithHTTPClient sets the client for every request. Its timeout and
// redirect policy are the caller's: the default client times out after 10 s
// and refuses redirects to insecure URLs.
func WithHTTPClient(c *http.Client) Option {
	return sharedOption(func(o *options) {
		if c == nil {
			o.errs = append(o.errs, errors.New("nil http client"))
			return
		}
		o.client = c
	})
}

// WithClock sets the time source for refresh scheduling and the kid-miss
// rate limit.
func WithClock(now func() time.Time) RemoteOption {
	return remoteOption(func(o *options) {
		if now == nil {
			o.errs = append(o.errs, errors.New("nil clock"))
			return
		}
		o.now = now
	})
}

// WithRefreshBounds clamps the background refresh interval that the OP's
// cache headers ask for (default 5 min and 24 h). The interval used when
// the OP sends no cache headers, 1 h, is clamped too.
func WithRefreshBounds(minInterval, maxInterval time.Duration) RemoteOption {
	return remoteOption(func(o *options) {
		o.minRefresh, o.maxRefresh = minInterval, maxInterval
	})
}

// WithKidMissInterval sets how often at most a token with an unknown kid
// may trigger a fetch (default 1 s). Zero removes the limit; concurrent
// misses still share one fetch.
func WithKidMissInterval(d time.Duration) RemoteOption {
	return remoteOption(func(o *options) { o.kidMissInterval = d })
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return sharedOption(func(o *options) {
		if l == nil {
			o.errs = append(o.errs, errors.New("nil logger"))
			return
		}
		o.logger = l
	})
}

// WithOnRefresh sets a hook called after every JWK Set fetch attempt with
// the URL and the attempt's error (nil on success), e.g. for metrics; a
// fetch cut short by Close is not reported. It is called from the fetching
// goroutine, before waiting callers resume, and must not block.
func WithOnRefresh(fn func(url string, err error)) RemoteOption {
	return remoteOption(func(o *options) { o.onRefresh = fn })
}

// WithInsecureAllowHTTP accepts plain http URLs for any host, for
// development setups where the OP is reached by a container name over
// http. It MUST NOT be used in production: whoever can alter the traffic
// can then substitute their own keys and log any user out.
func WithInsecureAllowHTTP() Option {
	return sharedOption(func(o *options) { o.allowHTTP = true })
}
