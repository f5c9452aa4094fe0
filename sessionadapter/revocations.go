package sessionadapter

import (
	"context"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter/internal/memrev"
)

// Revocations remembers logouts so that a request-time guard can end the
// sessions they name (§2.7), whatever the session store: cookie sessions,
// whose data cannot be deleted server-side, and server-side sessions,
// whose deleted data a request still in flight can write back. A
// revocation is checked against a session's login time, both on the OP's
// clock, which makes the order of arrival irrelevant: a logout recorded
// before the login it ends is stored, or long after, still catches it, and
// a fresh login after the logout stays valid.
//
// Implementations are safe for concurrent use.
type Revocations interface {
	// Revoke records that the sessions l names ended at l.IssuedAt (now,
	// if zero), and keeps that for keepFor. A logout with a sid revokes
	// that OP session only: for its sub when the token has one (each sub
	// a sid's logouts name is kept apart, so a session of a sub none of
	// them named survives), for any sub when it has none (Ory Hydra sends
	// none). A logout with only a sub revokes all of the user's sessions
	// at the issuer. Revoking the same again keeps the latest time and the
	// longest keep.
	Revoke(ctx context.Context, l Logout, keepFor time.Duration) error
	// Revoked reports whether a kept revocation ends b: one for
	// (b.Issuer, b.SessionID) whose sub matches b.Subject when both are
	// known, recorded at or after b.LoginTime less a clock-skew tolerance
	// (a minute by default: the sid names one OP session, whose two iats may
	// come from OP nodes whose clocks differ), or one for (b.Issuer,
	// b.Subject), recorded at or after b.LoginTime (the login was not
	// after the logout). An error means the answer is unknown; a guard
	// then fails closed.
	Revoked(ctx context.Context, b Binding) (bool, error)
}

// Watchable is implemented by Revocations that can tell when they learn a
// revocation, wherever it was recorded; middleware.Notifier uses it to
// tell open pages at once.
type Watchable interface {
	// Changed returns a channel that is closed when the next revocation
	// that can end a session is learnt. Take the channel before checking
	// Revoked, so that no revocation falls between the two.
	Changed() <-chan struct{}
}

// validateRevoke checks the arguments of Revocations.Revoke.
func validateRevoke(l Logout, keepFor time.Duration) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if keepFor <= 0 {
		return errs.Config("sessionadapter", "keep revocations for %v, which is not positive", keepFor)
	}
	return nil
}

// memoryRevocations is what NewMemoryRevocations returns: the
// in-memory set, behind the Revocations contract.
//
// Revocations are stored by 64-bit fingerprints of (kind, issuer, sid or
// sub, or both), hashed with a per-process random seed: about 200 bytes
// per revocation (BenchmarkRevocationMemory), whatever the lengths of the
// strings, and a check that hashes three strings and reads two maps,
// without allocating. Two distinct keys sharing a fingerprint (odds about
// n/2⁶⁴ per check with n revocations) can only sign a user out, never
// keep a revoked session alive, and the secret seed keeps anyone from
// aiming at one.
type memoryRevocations struct{ set *memrev.Set }

var (
	_ Revocations = memoryRevocations{}
	_ Watchable   = memoryRevocations{}
)

// NewMemoryRevocations returns empty Revocations kept in process memory
// until they expire, so their size is bounded by the logouts of one keep
// period: about 200 bytes per revocation, whatever the lengths of the
// strings, and a check that reads two maps without allocating. They serve
// one process; redisadapter.Revocations feeds one per replica from Redis.
// They also implement Watchable, for middleware.NewNotifier. It takes
// WithClock.
func NewMemoryRevocations(opts ...Option) (Revocations, error) {
	cfg, err := newConfig(ctorRevocations, opts)
	if err != nil {
		return nil, err
	}
	return memoryRevocations{memrev.New(cfg.now, cfg.sidSkew)}, nil
}

// Revoke implements Revocations.
func (m memoryRevocations) Revoke(ctx context.Context, l Logout, keepFor time.Duration) error {
	if err := validateRevoke(l, keepFor); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.set.Revoke(l.Issuer, l.Subject, l.SessionID, l.IssuedAt, keepFor)
	return nil
}

// Revoked implements Revocations without allocating: it is the guard's
// check on every request.
func (m memoryRevocations) Revoked(ctx context.Context, b Binding) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return m.set.Revoked(b.Issuer, b.Subject, b.SessionID, b.LoginTime), nil
}

// Changed implements Watchable.
func (m memoryRevocations) Changed() <-chan struct{} { return m.set.Changed() }
