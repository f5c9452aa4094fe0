package sessionadapter

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultSessionLifetime is how long a store keeps a binding whose Expires
// is zero, and how long a RevokingEnder keeps a revocation by default. It
// is gorilla/sessions' default MaxAge (30 days): forgetting a binding while
// its session is still alive would let that session survive its logout, so
// the default errs long. Set your real session lifetime with
// WithSessionLifetime.
const DefaultSessionLifetime = 30 * 24 * time.Hour

// Errors reported by the stores in this package and its adapters.
var (
	// ErrInvalidLogout means a Logout names no issuer, or neither a
	// subject nor a session ID.
	ErrInvalidLogout = errors.New("sessionadapter: invalid logout")
	// ErrInvalidBinding means a Binding lacks its issuer, its local ID, or
	// both its subject and its session ID.
	ErrInvalidBinding = errors.New("sessionadapter: invalid binding")
	// ErrInvalidConfig means a constructor was given options that do not
	// make a working store.
	ErrInvalidConfig = errors.New("sessionadapter: invalid configuration")
	// ErrDelete means the session data of some sessions could not be
	// deleted; they stay bound, so that the OP's retry ends them.
	ErrDelete = errors.New("sessionadapter: deleting session data failed")
)

// Validate reports whether l names sessions: an issuer and a sub or sid.
func (l Logout) Validate() error {
	switch {
	case l.Issuer == "":
		return fmt.Errorf("%w: no issuer", ErrInvalidLogout)
	case l.Subject == "" && l.SessionID == "":
		return fmt.Errorf("%w: neither sub nor sid", ErrInvalidLogout)
	}
	return nil
}

// Validate reports whether b can be found by a logout: an issuer, a local
// ID, and a sub or sid.
func (b Binding) Validate() error {
	switch {
	case b.Issuer == "":
		return fmt.Errorf("%w: no issuer", ErrInvalidBinding)
	case b.LocalID == "":
		return fmt.Errorf("%w: no local session ID", ErrInvalidBinding)
	case b.Subject == "" && b.SessionID == "":
		return fmt.Errorf("%w: neither sub nor sid", ErrInvalidBinding)
	}
	return nil
}

// Option configures a Memory store, MemoryRevocations or RevokingEnder.
// Each constructor documents which options it reads.
type Option func(*config)

type config struct {
	endAll   bool
	logger   *slog.Logger
	now      func() time.Time
	lifetime time.Duration
	deleter  Deleter
}

func newConfig(opts []Option) (config, error) {
	c := config{logger: slog.Default(), now: time.Now, lifetime: DefaultSessionLifetime}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil option", ErrInvalidConfig)
		}
		o(&c)
	}
	switch {
	case c.logger == nil:
		return c, fmt.Errorf("%w: nil logger", ErrInvalidConfig)
	case c.now == nil:
		return c, fmt.Errorf("%w: nil clock", ErrInvalidConfig)
	case c.lifetime <= 0:
		return c, fmt.Errorf("%w: session lifetime %v is not positive", ErrInvalidConfig, c.lifetime)
	}
	return c, nil
}

// WithEndAllUserSessions makes a sid-scoped logout end every session of
// the same user at that issuer, not only the sid's. The user is the
// token's sub or, when the OP sent only a sid, the sub of the sid's
// bindings. Keycloak's "log out all sessions" needs it: it sends one token,
// with one sid, for all of a user's RP sessions.
func WithEndAllUserSessions() Option { return func(c *config) { c.endAll = true } }

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock used to expire bindings and revocations; the
// default is time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithSessionLifetime sets how long a binding with a zero Expires is kept
// (and, for a RevokingEnder, how long a revocation is kept). The default is
// DefaultSessionLifetime. Set it to at least your sessions' lifetime.
func WithSessionLifetime(d time.Duration) Option { return func(c *config) { c.lifetime = d } }

// WithDeleter makes a Memory store delete each ended session's data
// through d, e.g. a gorilla FilesystemStore's file. Without it the store
// only forgets its bindings, which suits apps that check the store on
// every request.
func WithDeleter(d Deleter) Option { return func(c *config) { c.deleter = d } }
