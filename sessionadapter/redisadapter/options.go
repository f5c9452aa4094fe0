package redisadapter

import (
	"log/slog"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
)

// DefaultKeyPrefix is the default key prefix; its hash tag keeps every key
// of a Store and of Revocations in one cluster slot.
const DefaultKeyPrefix = "{bclogout}:"

// DefaultMaxStaleness is how long, by default, Revocations may go without
// hearing from Redis before its Revoked fails closed; see WithMaxStaleness.
const DefaultMaxStaleness = 3 * time.Second

// Each constructor has its own option type, so that an option it does not
// read is a compile error; the With… functions shared by both return a
// type that implements both.

// StoreOption configures New.
type StoreOption interface{ applyStore(*config) }

// RevocationsOption configures NewRevocations.
type RevocationsOption interface{ applyRevocations(*config) }

type config struct {
	prefix     string
	sessionKey string // a format with one %s, or "" for prefix+"session:%s"
	lifetime   time.Duration
	window     time.Duration
	endAll     bool
	logger     *slog.Logger
	now        func() time.Time
	maxStale   time.Duration
	streamLen  int64
	sidSkew    *time.Duration // nil: sessionadapter.DefaultSIDClockSkew
}

// SharedOption configures both New and NewRevocations.
type SharedOption struct{ f func(*config) }

func (o SharedOption) applyStore(c *config)       { o.f(c) }
func (o SharedOption) applyRevocations(c *config) { o.f(c) }

type storeOption func(*config)

func (f storeOption) applyStore(c *config) { f(c) }

type revOption func(*config)

func (f revOption) applyRevocations(c *config) { f(c) }

// WithKeyPrefix sets the prefix of every key the adapter owns; the default
// is DefaultKeyPrefix. With a cluster client it must hold a hash tag.
// Replicas that share revocations and sessions use the same prefix.
func WithKeyPrefix(p string) SharedOption { return SharedOption{func(c *config) { c.prefix = p }} }

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) SharedOption { return SharedOption{func(c *config) { c.logger = l }} }

// WithClock sets the clock that dates binding expiries, revocations, the
// in-flight window and the feed's staleness; the default is time.Now.
// Redis TTLs run on Redis' clock.
func WithClock(now func() time.Time) SharedOption {
	return SharedOption{func(c *config) { c.now = now }}
}

// WithSessionKey sets where session data lives: format holds exactly one
// %s, replaced by the local session ID, and no other verb; e.g.
// "session_%s" for boj/redistore. The default is the key prefix followed
// by "session:%s". With a cluster client it must hold the prefix's hash
// tag (see the package doc).
func WithSessionKey(format string) StoreOption {
	return storeOption(func(c *config) { c.sessionKey = format })
}

// WithSessionLifetime sets how long a binding with a zero Expires is kept;
// the default is sessionadapter.DefaultSessionLifetime.
func WithSessionLifetime(d time.Duration) StoreOption {
	return storeOption(func(c *config) { c.lifetime = d })
}

// WithEndAllUserSessions: see sessionadapter.WithEndAllUserSessions.
func WithEndAllUserSessions() StoreOption { return storeOption(func(c *config) { c.endAll = true }) }

// WithInFlightWindow sets how long after a logout the Store deletes the
// ended sessions' data a second time (and how long a
// sessionadapter.RevokingEnder over it keeps the revocation, the window and
// two polls of the queue, only under
// sessionadapter.WithShortKeepUnsafeUnlessBindingsComplete): at least the
// app's request timeout plus the OP-RP clock skew and the revocation
// feed's staleness bound (see sessionadapter.WithInFlightWindow). The
// default is sessionadapter.DefaultInFlightWindow.
func WithInFlightWindow(d time.Duration) StoreOption {
	return storeOption(func(c *config) { c.window = d })
}

// WithMaxStaleness bounds how old the replica's view of the revocations
// may be: a revocation recorded by any replica is enforced by this one
// within d, or this one's Revoked fails (the guard answers 503) until the
// feed catches up. The default is DefaultMaxStaleness. The feed polls
// Redis with a blocking read of d/4 (at most 500 ms), so a healthy feed is
// never stale.
func WithMaxStaleness(d time.Duration) RevocationsOption {
	return revOption(func(c *config) { c.maxStale = d })
}

// WithSIDClockSkew sets how much later than a sid revocation's time a
// session's login may be and still be ended by it; see
// sessionadapter.WithSIDClockSkew. The default is
// sessionadapter.DefaultSIDClockSkew.
func WithSIDClockSkew(d time.Duration) RevocationsOption {
	return revOption(func(c *config) { c.sidSkew = &d })
}

// errNilOption is the error of a nil option, the same for both constructors.
var errNilOption = errs.Config("redisadapter", "nil option")

func storeConfig(opts []StoreOption, cluster bool) (config, error) {
	apply := make([]func(*config), len(opts))
	for i, o := range opts {
		if o == nil {
			return config{}, errNilOption
		}
		apply[i] = o.applyStore
	}
	return newConfig(apply, cluster)
}

func revConfig(opts []RevocationsOption, cluster bool) (config, error) {
	apply := make([]func(*config), len(opts))
	for i, o := range opts {
		if o == nil {
			return config{}, errNilOption
		}
		apply[i] = o.applyRevocations
	}
	return newConfig(apply, cluster)
}

func newConfig(apply []func(*config), cluster bool) (config, error) {
	c := config{
		prefix:    DefaultKeyPrefix,
		lifetime:  sessionadapter.DefaultSessionLifetime,
		window:    sessionadapter.DefaultInFlightWindow,
		logger:    slog.Default(),
		now:       time.Now,
		maxStale:  DefaultMaxStaleness,
		streamLen: defaultStreamLen,
	}
	for _, f := range apply {
		f(&c)
	}
	if c.sessionKey == "" {
		c.sessionKey = strings.ReplaceAll(c.prefix, "%", "%%") + "session:%s"
	}
	switch {
	case c.logger == nil:
		return c, errs.Config("redisadapter", "nil logger")
	case c.now == nil:
		return c, errs.Config("redisadapter", "nil clock")
	case c.lifetime <= 0:
		return c, errs.Config("redisadapter", "session lifetime %v is not positive", c.lifetime)
	case c.window <= 0:
		return c, errs.Config("redisadapter", "in-flight window %v is not positive", c.window)
	case c.maxStale < 4*time.Millisecond:
		return c, errs.Config("redisadapter", "staleness bound %v is under 4ms", c.maxStale)
	}
	if _, _, err := splitFormat(c.sessionKey); err != nil {
		return c, err
	}
	if cluster {
		tag := hashTag(c.prefix)
		if tag == "" {
			return c, errs.Config("redisadapter", "key prefix %q has no hash tag, which a cluster needs", c.prefix)
		}
		pre, _, _ := splitFormat(c.sessionKey)
		// The tag must sit before the %s, or a local ID holding braces
		// could move the key to another slot.
		if hashTag(pre) != tag {
			return c, errs.Config("redisadapter", "session key %q lacks the hash tag {%s} of the key prefix before its %%s, so a cluster would put session data in other slots", c.sessionKey, tag)
		}
	}
	return c, nil
}

// splitFormat splits a format with one %s (and %% for a literal percent)
// into what comes before and after the ID.
func splitFormat(format string) (pre, post string, err error) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			cur.WriteByte(format[i])
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			cur.WriteByte('%')
			i++
			continue
		}
		if i+1 < len(format) && format[i+1] == 's' {
			parts = append(parts, cur.String())
			cur.Reset()
			i++
			continue
		}
		return "", "", errs.Config("redisadapter", "session key format %q: only %%s and %%%% are allowed", format)
	}
	parts = append(parts, cur.String())
	if len(parts) != 2 {
		return "", "", errs.Config("redisadapter", "session key format %q must hold exactly one %%s", format)
	}
	return parts[0], parts[1], nil
}

// hashTag returns the part of key that Redis Cluster hashes when it is not
// the whole key: what lies between the first '{' and the next '}', if not
// empty.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}
