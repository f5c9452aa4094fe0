package redisadapter

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// DefaultKeyPrefix is the default key prefix; its hash tag keeps every key
// of a Store in one cluster slot.
const DefaultKeyPrefix = "{bclogout}:"

// Option configures a Store or Revocations.
type Option func(*config)

type config struct {
	prefix     string
	sessionKey string // a format with one %s, or "" for prefix+"session:%s"
	lifetime   time.Duration
	endAll     bool
	logger     *slog.Logger
	now        func() time.Time
}

// WithKeyPrefix sets the prefix of every key the adapter owns; the default
// is DefaultKeyPrefix. With a cluster client it must hold a hash tag.
func WithKeyPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithSessionKey sets where session data lives: format holds exactly one
// %s, replaced by the local session ID, and no other verb; e.g.
// "session_%s" for boj/redistore. The default is the key prefix followed
// by "session:%s". With a cluster client it must hold the prefix's hash
// tag (see the package doc).
func WithSessionKey(format string) Option { return func(c *config) { c.sessionKey = format } }

// WithSessionLifetime sets how long a binding with a zero Expires is kept;
// the default is sessionadapter.DefaultSessionLifetime.
func WithSessionLifetime(d time.Duration) Option { return func(c *config) { c.lifetime = d } }

// WithEndAllUserSessions: see sessionadapter.WithEndAllUserSessions.
func WithEndAllUserSessions() Option { return func(c *config) { c.endAll = true } }

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock that dates binding expiries; the default is
// time.Now. Redis TTLs run on Redis' clock.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

func newConfig(opts []Option, cluster bool) (config, error) {
	c := config{
		prefix:   DefaultKeyPrefix,
		lifetime: sessionadapter.DefaultSessionLifetime,
		logger:   slog.Default(),
		now:      time.Now,
	}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil option", sessionadapter.ErrInvalidConfig)
		}
		o(&c)
	}
	if c.sessionKey == "" {
		c.sessionKey = strings.ReplaceAll(c.prefix, "%", "%%") + "session:%s"
	}
	switch {
	case c.logger == nil:
		return c, fmt.Errorf("%w: nil logger", sessionadapter.ErrInvalidConfig)
	case c.now == nil:
		return c, fmt.Errorf("%w: nil clock", sessionadapter.ErrInvalidConfig)
	case c.lifetime <= 0:
		return c, fmt.Errorf("%w: session lifetime %v is not positive", sessionadapter.ErrInvalidConfig, c.lifetime)
	}
	if _, _, err := splitFormat(c.sessionKey); err != nil {
		return c, err
	}
	if cluster {
		tag := hashTag(c.prefix)
		if tag == "" {
			return c, fmt.Errorf("%w: key prefix %q has no hash tag, which a cluster needs", sessionadapter.ErrInvalidConfig, c.prefix)
		}
		pre, _, _ := splitFormat(c.sessionKey)
		// The tag must sit before the %s, or a local ID holding braces
		// could move the key to another slot.
		if hashTag(pre) != tag {
			return c, fmt.Errorf("%w: session key %q lacks the hash tag {%s} of the key prefix before its %%s, so a cluster would put session data in other slots",
				sessionadapter.ErrInvalidConfig, c.sessionKey, tag)
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
		return "", "", fmt.Errorf("%w: session key format %q: only %%s and %%%% are allowed", sessionadapter.ErrInvalidConfig, format)
	}
	parts = append(parts, cur.String())
	if len(parts) != 2 {
		return "", "", fmt.Errorf("%w: session key format %q must hold exactly one %%s", sessionadapter.ErrInvalidConfig, format)
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
