package sessionadapter

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
)

// DefaultSessionLifetime is how long a store keeps a binding whose Expires
// is zero, and how long a RevokingEnder keeps a revocation that nothing
// else will enforce (cookie sessions, stores that do not delete session
// data). It is gorilla/sessions' default MaxAge (30 days): forgetting a
// binding or a revocation while its session is still alive would let that
// session survive its logout, so the default errs long. Set your real
// session lifetime with WithSessionLifetime.
const DefaultSessionLifetime = 30 * 24 * time.Hour

// DefaultInFlightWindow is how long, by default, a store that deletes
// session data keeps a logout's revocation and when it deletes the ended
// sessions a second time: it must cover the longest request of the app (a
// request that loaded the session before the logout and saves it after, a
// login callback whose ID token was issued before the logout). Five
// minutes covers the request timeouts of common servers and proxies with
// margin; set yours with WithInFlightWindow.
const DefaultInFlightWindow = 5 * time.Minute

// DefaultSIDClockSkew is how much later than a sid logout's iat a login
// of the same OP session may be dated and still be ended by it: the two
// iats come from the OP's clocks at different moments, often from
// different nodes of a clustered OP (ZITADEL dates logout tokens one
// second in the past), and an OP session's sid is never reused by a new
// one, so a login of that sid dated a little after its logout is the same
// session. It is rp.DefaultClockSkew's value; set yours with
// WithSIDClockSkew.
const DefaultSIDClockSkew = time.Minute

// Errors reported by the stores in this package and its adapters.
var (
	// ErrInvalidLogout means a Logout names no issuer, or neither a
	// subject nor a session ID.
	ErrInvalidLogout = errors.New("sessionadapter: invalid logout")
	// ErrInvalidBinding means a Binding lacks its issuer, its local ID, or
	// both its subject and its session ID.
	ErrInvalidBinding = errors.New("sessionadapter: invalid binding")
	// ErrDelete means the session data of some sessions could not be
	// deleted; they stay bound, so that the OP's retry ends them.
	ErrDelete = errors.New("sessionadapter: deleting session data failed")
	// ErrRevoked means a Bind was refused because a logout recorded at or
	// after the binding's login time ends it: the login raced its own
	// logout (the ID token was issued before the OP ended the session).
	// The app must not treat the user as signed in, and should end the
	// session it just created.
	ErrRevoked = errors.New("sessionadapter: session revoked by a logout")
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

// Each constructor has its own option type, so that an option it does not
// read is a compile error rather than silently ignored. The With…
// functions return small types that implement the option interfaces of
// every constructor they apply to.

// MemoryOption configures NewMemory.
type MemoryOption interface{ applyMemory(*memoryConfig) }

// RevocationsOption configures NewMemoryRevocations.
type RevocationsOption interface{ applyRevocations(*revConfig) }

// EnderOption configures NewRevokingEnder.
type EnderOption interface{ applyEnder(*enderConfig) }

type memoryConfig struct {
	endAll   bool
	logger   *slog.Logger
	now      func() time.Time
	lifetime time.Duration
	deleter  Deleter
	window   time.Duration
}

type revConfig struct {
	now     func() time.Time
	sidSkew time.Duration
}

type enderConfig struct {
	endAll    bool
	logger    *slog.Logger
	lifetime  time.Duration
	store     Store
	storeSet  bool
	shortKeep bool
}

// ClockOption sets the clock; see WithClock.
type ClockOption struct{ now func() time.Time }

// WithClock sets the clock used to date bindings, revocations and the
// in-flight window; the default is time.Now. NewMemory and
// NewMemoryRevocations take it.
func WithClock(now func() time.Time) ClockOption { return ClockOption{now} }

func (o ClockOption) applyMemory(c *memoryConfig)   { c.now = o.now }
func (o ClockOption) applyRevocations(c *revConfig) { c.now = o.now }

type revOptionFunc func(*revConfig)

func (f revOptionFunc) applyRevocations(c *revConfig) { f(c) }

// WithSIDClockSkew sets how much later than a sid revocation's time a
// session's login may be and still be ended by it (see
// DefaultSIDClockSkew, the default; 0 compares the times strictly). It
// applies to sid revocations only: a login of a new OP session has a new
// sid, while a sub revocation must spare the user's logins after it, so
// it compares strictly. A login dated more than the skew after the logout
// stays valid. NewMemoryRevocations takes it.
func WithSIDClockSkew(d time.Duration) RevocationsOption {
	return revOptionFunc(func(c *revConfig) { c.sidSkew = d })
}

// LoggerOption sets the logger; see WithLogger.
type LoggerOption struct{ l *slog.Logger }

// WithLogger sets the logger; the default is slog.Default(). NewMemory and
// NewRevokingEnder take it.
func WithLogger(l *slog.Logger) LoggerOption { return LoggerOption{l} }

func (o LoggerOption) applyMemory(c *memoryConfig) { c.logger = o.l }
func (o LoggerOption) applyEnder(c *enderConfig)   { c.logger = o.l }

// LifetimeOption sets the session lifetime; see WithSessionLifetime.
type LifetimeOption struct{ d time.Duration }

// WithSessionLifetime sets your sessions' lifetime; the default is
// DefaultSessionLifetime. NewMemory keeps a binding with a zero Expires
// that long. NewRevokingEnder keeps every revocation that long (unless
// WithShortKeepUnsafeUnlessBindingsComplete): the revocation, not the
// deletion of session data, is what keeps a logged-out session ended. Set
// it to at least your sessions' longest lifetime, sliding expiry included
// (a session renewed on use lives as long as its absolute limit).
func WithSessionLifetime(d time.Duration) LifetimeOption { return LifetimeOption{d} }

func (o LifetimeOption) applyMemory(c *memoryConfig) { c.lifetime = o.d }
func (o LifetimeOption) applyEnder(c *enderConfig)   { c.lifetime = o.d }

// EndAllOption ends all of a user's sessions; see WithEndAllUserSessions.
type EndAllOption struct{}

// WithEndAllUserSessions makes a sid-scoped logout end every session of
// the same user at that issuer, not only the sid's. The user is the
// token's sub or, for a store, when the OP sent only a sid, the sub of the
// sid's bindings (a revocation without a sub can only name the sid).
// Keycloak's "log out all sessions" needs it: it sends one token, with one
// sid, for all of a user's RP sessions. NewMemory and NewRevokingEnder
// take it.
func WithEndAllUserSessions() EndAllOption { return EndAllOption{} }

func (EndAllOption) applyMemory(c *memoryConfig) { c.endAll = true }
func (EndAllOption) applyEnder(c *enderConfig)   { c.endAll = true }

type memoryOptionFunc func(*memoryConfig)

func (f memoryOptionFunc) applyMemory(c *memoryConfig) { f(c) }

// WithDeleter makes a Memory store delete each ended session's data
// through d, e.g. a gorilla FilesystemStore's file, once at the logout and
// once more when the in-flight window has passed (see
// WithInFlightWindow). Without it the store only forgets its bindings, and
// a RevokingEnder keeps the revocation for the whole session lifetime (as
// it does with a Deleter too, by default).
func WithDeleter(d Deleter) MemoryOption {
	return memoryOptionFunc(func(c *memoryConfig) { c.deleter = d })
}

// WithInFlightWindow sets how long after a logout a request that loaded
// an ended session may still save it, or a login callback whose ID token
// was issued before the logout may still bind it: at least the app's
// request timeout (the longest a handler runs), plus the clock skew
// between the OP and the RP. The default is DefaultInFlightWindow.
//
// A store with a Deleter deletes the ended sessions' data at the logout
// and once more when the window ends, which removes what such a request
// re-created; a RevokingEnder over the store keeps the revocation for the
// window and two polls of the second deletion (RevocationKeepFor), so the
// guard covers the sessions in between. A request
// that saves an ended session later than the window breaks the bound and
// could bring the session back.
func WithInFlightWindow(d time.Duration) MemoryOption {
	return memoryOptionFunc(func(c *memoryConfig) { c.window = d })
}

type storeOption struct{ s Store }

func (o storeOption) applyEnder(c *enderConfig) { c.store = o.s; c.storeSet = true }

// WithStore makes a RevokingEnder end the server-side sessions of s too:
// at each logout it records the revocation, then calls s.EndSessions,
// which deletes the session data where s can. Its Bind goes through s and
// refuses, with ErrRevoked, a binding whose login is not after a kept
// revocation. The revocation is kept for the session lifetime, whatever s
// (see NewRevokingEnder).
func WithStore(s Store) EnderOption {
	return storeOption{s}
}

type shortKeepOption struct{}

func (shortKeepOption) applyEnder(c *enderConfig) { c.shortKeep = true }

// WithShortKeepUnsafeUnlessBindingsComplete makes a RevokingEnder keep each
// revocation only for its store's RevocationKeep (the in-flight window
// plus two polls of the second deletion) instead of the session lifetime,
// trusting the store's deletion to keep the logged-out sessions ended
// afterwards. It saves memory (bytes per revocation × logouts per window
// instead of × logouts per lifetime) and needs WithStore of a Windowed
// store, or NewRevokingEnder fails with ErrInvalidConfig.
//
// It MUST NOT be used unless all of these hold, or logged-out sessions
// come back once the short keep ends:
//   - the bindings name every live session under the ID the Deleter
//     deletes: no token renewal after login (scs RenewToken, gorilla's
//     new session on privilege change) without Unbind and Bind again;
//   - the bindings are durable at least as long as the sessions: a store
//     that forgets its bindings on a restart (Memory) while the session
//     data persists (files, a database) is not;
//   - session expiry does not slide: a session whose store extends its
//     lifetime on use (gorilla stores re-saving MaxAge, scs IdleTimeout)
//     outlives the binding's Expires, and with it the binding.
//
// When in doubt, do not use it: the default is the safe reading.
func WithShortKeepUnsafeUnlessBindingsComplete() EnderOption { return shortKeepOption{} }

// errNilOption reports a nil option, the same error for every constructor.
var errNilOption = errs.Config("sessionadapter", "nil option")

func checkCommon(logger *slog.Logger, now func() time.Time, lifetime time.Duration) error {
	switch {
	case logger == nil:
		return errs.Config("sessionadapter", "nil logger")
	case now == nil:
		return errs.Config("sessionadapter", "nil clock")
	case lifetime <= 0:
		return errs.Config("sessionadapter", "session lifetime %v is not positive", lifetime)
	}
	return nil
}

func newMemoryConfig(opts []MemoryOption) (memoryConfig, error) {
	c := memoryConfig{logger: slog.Default(), now: time.Now, lifetime: DefaultSessionLifetime, window: DefaultInFlightWindow}
	for _, o := range opts {
		if o == nil {
			return c, errNilOption
		}
		o.applyMemory(&c)
	}
	if err := checkCommon(c.logger, c.now, c.lifetime); err != nil {
		return c, err
	}
	if c.window <= 0 {
		return c, errs.Config("sessionadapter", "in-flight window %v is not positive", c.window)
	}
	return c, nil
}

func newRevConfig(opts []RevocationsOption) (revConfig, error) {
	c := revConfig{now: time.Now, sidSkew: DefaultSIDClockSkew}
	for _, o := range opts {
		if o == nil {
			return c, errNilOption
		}
		o.applyRevocations(&c)
	}
	if c.now == nil {
		return c, errs.Config("sessionadapter", "nil clock")
	}
	if c.sidSkew < 0 {
		return c, errs.Config("sessionadapter", "sid clock skew %v is negative", c.sidSkew)
	}
	return c, nil
}

func newEnderConfig(opts []EnderOption) (enderConfig, error) {
	c := enderConfig{logger: slog.Default(), lifetime: DefaultSessionLifetime}
	for _, o := range opts {
		if o == nil {
			return c, errNilOption
		}
		o.applyEnder(&c)
	}
	if err := checkCommon(c.logger, time.Now, c.lifetime); err != nil {
		return c, err
	}
	if c.storeSet && c.store == nil {
		return c, errs.Config("sessionadapter", "nil Store")
	}
	return c, nil
}
