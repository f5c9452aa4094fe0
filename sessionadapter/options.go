package sessionadapter

import (
	"errors"
	"log/slog"
	"time"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter/internal/valid"
)

// Errors reported by the stores in this package and its adapters.
var (
	// ErrInvalid means a Logout or a Binding cannot name sessions: it
	// lacks its issuer, or both its subject and its session ID; a Binding
	// its local ID; a Logout has a date not after 1970.
	ErrInvalid = valid.ErrInvalid
	// ErrRevoked means a Bind was refused because a logout recorded at or
	// after the binding's login time ends it: the login raced its own
	// logout (the ID token was issued before the OP ended the session).
	// The app must not treat the user as signed in, and should end the
	// session it just created: the front door's Login does, and returns
	// this error wrapped, so that the app shows the signed-out page.
	ErrRevoked = errors.New("sessionadapter: session revoked by a logout")
	// ErrStale means a replica of shared Revocations (redisadapter,
	// pgadapter) has not heard from its store for longer than its
	// staleness bound, or not yet since it started: a revocation another
	// replica recorded may be missing, so Revoked does not answer and the
	// guard fails closed (503). It clears by itself when the replica
	// catches up.
	ErrStale = errors.New("sessionadapter: revocations are stale")
)

// validate reports whether b can be found by a logout: an issuer, a local
// ID, and a sub or sid.
func (b Binding) validate() error {
	return valid.Binding(b.Issuer, b.Subject, b.SessionID, b.LocalID)
}

// Option configures NewMemory, NewMemoryRevocations and NewRevokingEnder.
// Each With… function names the constructors that take it; giving one to
// another constructor is an error wrapping bclogout.ErrInvalidConfig, never
// silently ignored, and so is the zero Option.
type Option struct {
	name  string
	ctors ctor // the constructors that take it
	apply func(*config)
}

// ctor is a set of constructors.
type ctor uint8

const (
	ctorMemory ctor = 1 << iota
	ctorRevocations
	ctorEnder
)

func (c ctor) String() string {
	switch c {
	case ctorMemory:
		return "NewMemory"
	case ctorRevocations:
		return "NewMemoryRevocations"
	}
	return "NewRevokingEnder"
}

type config struct {
	logger   *slog.Logger
	now      func() time.Time
	lifetime time.Duration
	deleter  Deleter
	store    Store
	sidSkew  time.Duration

	deleterSet, storeSet bool
}

// WithClock sets the clock that dates bindings and revocations; the
// default is time.Now. NewMemory and NewMemoryRevocations take it.
func WithClock(now func() time.Time) Option {
	return Option{"WithClock", ctorMemory | ctorRevocations, func(c *config) { c.now = now }}
}

// WithLogger sets the logger; the default is slog.Default(). NewMemory and
// NewRevokingEnder take it.
func WithLogger(l *slog.Logger) Option {
	return Option{"WithLogger", ctorMemory | ctorEnder, func(c *config) { c.logger = l }}
}

// WithSessionLifetime sets your sessions' lifetime; the default is 30
// days, gorilla/sessions' default MaxAge: forgetting a binding or a
// revocation while its session is still alive would let that session
// survive its logout, so the default errs long. NewMemory keeps a binding with a zero Expires
// that long; NewRevokingEnder keeps every revocation that long: the
// revocation, not the deletion of session data, is what keeps a
// logged-out session ended. Set it to at least your sessions' longest
// lifetime, sliding expiry included (a session renewed on use lives as
// long as its absolute limit).
func WithSessionLifetime(d time.Duration) Option {
	return Option{"WithSessionLifetime", ctorMemory | ctorEnder, func(c *config) { c.lifetime = d }}
}

// WithDeleter makes a NewMemory store delete each ended session's data
// through d, e.g. a gorilla FilesystemStore's file. Without it the store
// only forgets its bindings. NewMemory takes it.
func WithDeleter(d Deleter) Option {
	return Option{"WithDeleter", ctorMemory, func(c *config) { c.deleter = d; c.deleterSet = true }}
}

// WithStore makes NewRevokingEnder end the server-side sessions of s too:
// at each logout it records the revocation, then calls s.EndSessions,
// which deletes the session data where s can. Its Bind goes through s and
// refuses, with ErrRevoked, a binding whose login is not after a kept
// revocation. NewRevokingEnder takes it.
func WithStore(s Store) Option {
	return Option{"WithStore", ctorEnder, func(c *config) { c.store = s; c.storeSet = true }}
}

// newConfig applies opts over the defaults for constructor k and checks
// the result.
func newConfig(k ctor, opts []Option) (config, error) {
	c := config{logger: slog.Default(), now: time.Now, lifetime: defaults.SessionLifetime, sidSkew: defaults.SIDClockSkew}
	for _, o := range opts {
		switch {
		case o.apply == nil:
			return c, errs.Config("sessionadapter", "zero option")
		case o.ctors&k == 0:
			return c, errs.Config("sessionadapter", "%s does not take %s", k, o.name)
		}
		o.apply(&c)
	}
	switch {
	case c.logger == nil:
		return c, errs.Config("sessionadapter", "nil logger")
	case c.now == nil:
		return c, errs.Config("sessionadapter", "nil clock")
	case c.lifetime <= 0:
		return c, errs.Config("sessionadapter", "session lifetime %v is not positive", c.lifetime)
	case c.deleterSet && c.deleter == nil:
		return c, errs.Config("sessionadapter", "nil Deleter")
	case c.storeSet && c.store == nil:
		return c, errs.Config("sessionadapter", "nil Store")
	case c.sidSkew < 0:
		return c, errs.Config("sessionadapter", "sid clock skew %v is negative", c.sidSkew)
	}
	return c, nil
}
