package redisadapter

import (
	"log/slog"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
)

// defaultKeyPrefix is the default key prefix; its hash tag keeps every
// key of New's store and of Revocations in one cluster slot.
const defaultKeyPrefix = "{bclogout}:"

// defaultMaxStaleness is how long, by default, Revocations may go without
// hearing from Redis before its Revoked fails closed; see WithMaxStaleness.
const defaultMaxStaleness = 3 * time.Second

// Option configures New and NewRevocations. Each With… function names
// the constructors that take it; giving one to the other is an error
// wrapping bclogout.ErrInvalidConfig, never silently ignored, and so is
// the zero Option.
type Option struct {
	name  string
	ctors ctor
	apply func(*config)
}

type ctor uint8

const (
	ctorStore ctor = 1 << iota
	ctorRevocations
)

func (c ctor) String() string {
	if c == ctorStore {
		return "New"
	}
	return "NewRevocations"
}

type config struct {
	prefix     string
	sessionKey string // a format with one %s, or "" for prefix+"session:%s"
	logger     *slog.Logger
	now        func() time.Time
	maxStale   time.Duration
	streamLen  int64
}

// WithKeyPrefix sets the prefix of every key the adapter owns; the default
// is "{bclogout}:". With a cluster client it must hold a hash tag.
// Replicas that share revocations and sessions use the same prefix. New
// and NewRevocations take it.
func WithKeyPrefix(p string) Option {
	return Option{"WithKeyPrefix", ctorStore | ctorRevocations, func(c *config) { c.prefix = p }}
}

// WithLogger sets the logger; the default is slog.Default(). New and
// NewRevocations take it.
func WithLogger(l *slog.Logger) Option {
	return Option{"WithLogger", ctorStore | ctorRevocations, func(c *config) { c.logger = l }}
}

// WithClock sets the clock that dates binding expiries, revocations and
// the feed's staleness; the default is time.Now. Redis TTLs run on Redis'
// clock. New and NewRevocations take it.
func WithClock(now func() time.Time) Option {
	return Option{"WithClock", ctorStore | ctorRevocations, func(c *config) { c.now = now }}
}

// WithSessionKey sets where session data lives: format holds exactly one
// %s, replaced by the local session ID, and no other verb; e.g.
// "session_%s" for boj/redistore. The default is the key prefix followed
// by "session:%s". With a cluster client it must hold the prefix's hash
// tag (see the package doc). New takes it.
func WithSessionKey(format string) Option {
	return Option{"WithSessionKey", ctorStore, func(c *config) { c.sessionKey = format }}
}

// WithMaxStaleness bounds how old the replica's view of the revocations
// may be: a revocation recorded by any replica is enforced by this one
// within d, or this one's Revoked fails (the guard answers 503) until the
// feed catches up. The default is 3 s. The feed polls Redis with a
// blocking read of d/4 (at most 500 ms), so a healthy feed is never
// stale. NewRevocations takes it.
func WithMaxStaleness(d time.Duration) Option {
	return Option{"WithMaxStaleness", ctorRevocations, func(c *config) { c.maxStale = d }}
}

func newConfig(k ctor, opts []Option, cluster bool) (config, error) {
	c := config{
		prefix:    defaultKeyPrefix,
		logger:    slog.Default(),
		now:       time.Now,
		maxStale:  defaultMaxStaleness,
		streamLen: defaultStreamLen,
	}
	for _, o := range opts {
		switch {
		case o.apply == nil:
			return c, errs.Config("redisadapter", "zero option")
		case o.ctors&k == 0:
			return c, errs.Config("redisadapter", "%s does not take %s", k, o.name)
		}
		o.apply(&c)
	}
	if c.sessionKey == "" {
		c.sessionKey = strings.ReplaceAll(c.prefix, "%", "%%") + "session:%s"
	}
	switch {
	case c.logger == nil:
		return c, errs.Config("redisadapter", "nil logger")
	case c.now == nil:
		return c, errs.Config("redisadapter", "nil clock")
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
