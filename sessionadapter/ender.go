package sessionadapter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
)

// revokingEnder is the Store NewRevokingEnder returns.
type revokingEnder struct {
	rev      Revocations
	store    Store
	lifetime time.Duration
	logger   *slog.Logger
}

var (
	_ Ender = (*revokingEnder)(nil)
	_ Store = (*revokingEnder)(nil)
)

// NewRevokingEnder returns the Ender (and Store) of every app, whatever
// its session store: at each logout it records a revocation in rev, which
// the middleware package's Guard enforces on every request, and, given
// WithStore, ends the bound server-side sessions (deleting their data
// where the store can). It takes WithStore, WithSessionLifetime and
// WithLogger.
//
// Deletion alone cannot keep a user signed out: a request that loaded the
// session before the logout and saves it afterwards writes it back, and a
// login callback whose ID token was issued before the logout binds its
// session after it. The revocation catches both: the guard ends the
// written-back session at its next request, and Bind refuses the late
// login with ErrRevoked (and unbinds it).
//
// EndSessions records the revocation before anything is deleted, so a
// session is never left deleted but unrevoked; without a store it reports
// 1 (the sessions live in browsers and end at their next request). It is
// idempotent, so the OP's retry, or the app's, may call it again with the
// same Logout. Bind records the binding in the store (if any), then
// refuses it when a kept revocation ends it; without a store it only
// checks, for cookie sessions. Unbind forgets a binding in the store. Safe
// for concurrent use.
//
// Each revocation is kept for the session lifetime (WithSessionLifetime),
// whatever the store: the revocation is the security boundary; deleting
// the session data is hygiene, and it misses every session the store's
// bindings do not name: a token renewed after login (scs RenewToken),
// bindings lost on a restart while the sessions persist, a session whose
// expiry slides past its binding's, a session a request in flight wrote
// back after the deletion. The cost is memory or Redis space: about 200
// bytes per revocation in NewMemoryRevocations, times the logouts of one
// session lifetime.
//
// A logout with a sid revokes that OP session only, even when it carries
// a sub (Back-Channel Logout 1.0 §2.7); a logout with only
// a sub revokes every session of that user at the issuer.
func NewRevokingEnder(rev Revocations, opts ...Option) (Store, error) {
	if rev == nil {
		return nil, errs.Config("sessionadapter", "nil Revocations")
	}
	cfg, err := newConfig(ctorEnder, opts)
	if err != nil {
		return nil, err
	}
	return &revokingEnder{rev: rev, store: cfg.store, lifetime: cfg.lifetime, logger: cfg.logger}, nil
}

// EndSessions records the revocation, then ends the store's sessions. It
// reports the store's count of ended sessions or, without a store, 1 (the
// revocation: the sessions live in browsers and end at their next
// request). An error means the logout may be incomplete and the OP (or the
// app) should retry; the revocation is recorded before anything is
// deleted, so a session is never left deleted but unrevoked, and it is
// kept for the lifetime even when the store then fails.
func (e *revokingEnder) EndSessions(ctx context.Context, l Logout) (int, error) {
	if err := e.rev.Revoke(ctx, l, e.lifetime); err != nil {
		return 0, err
	}
	if e.store == nil {
		return 1, nil
	}
	return e.store.EndSessions(ctx, l)
}

// Bind records b in the store (if any), then refuses it with an error
// wrapping ErrRevoked when a kept revocation ends it: the login raced its
// own logout. Checking after recording closes the race with a concurrent
// logout: either the check sees the revocation, or the logout, which
// revokes before it ends sessions, finds the binding. A refused binding is
// unbound again; the app should end the session it created (Sessions.End)
// and not sign the user in.
//
// Without a store, Bind only checks: use it at login for cookie sessions
// to refuse, rather than stash, a login that is already logged out.
func (e *revokingEnder) Bind(ctx context.Context, b Binding) error {
	if err := b.validate(); err != nil {
		return err
	}
	if e.store != nil {
		if err := e.store.Bind(ctx, b); err != nil {
			return err
		}
	}
	revoked, err := e.rev.Revoked(ctx, b)
	if err != nil {
		return err
	}
	if revoked {
		if e.store != nil {
			if err := e.store.Unbind(ctx, b.LocalID); err != nil {
				e.logger.WarnContext(ctx, "sessionadapter: could not unbind a refused login", slog.String("local_id", b.LocalID), slog.Any("error", err))
			}
		}
		e.logger.WarnContext(ctx, "sessionadapter: login refused: its OP session was already logged out",
			slog.String("iss", b.Issuer), slog.String("sid", b.SessionID))
		return fmt.Errorf("%w: login at %v is not after the logout", ErrRevoked, b.LoginTime)
	}
	return nil
}

// Unbind forgets the binding of a local session in the store, for a local
// logout; without a store it does nothing.
func (e *revokingEnder) Unbind(ctx context.Context, localID string) error {
	if e.store == nil {
		return ctx.Err()
	}
	return e.store.Unbind(ctx, localID)
}
