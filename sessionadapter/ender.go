package sessionadapter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
)

// Windowed is implemented by a Store that deletes the data of the
// sessions it ends, at the logout and once more when its in-flight window
// has passed (see WithInFlightWindow). A RevokingEnder keeps each
// revocation for the whole session lifetime by default, whatever the
// store; only with WithShortKeepUnsafeUnlessBindingsComplete does it keep
// revocations for RevocationKeep alone (see that option for when that is
// safe).
type Windowed interface {
	// RevocationKeep is how long after a logout the store may still hold
	// a session the logout ended: its in-flight window plus the time its
	// second deletion may take to come round (a poll interval, twice). 0
	// means the store deletes no session data.
	RevocationKeep() time.Duration
}

// secondPassLag is how late, at most, a store's second deletion may run
// after it is due, for a window w: stores poll (or re-check) every
// w/10, between 1 s and 30 s, and a revocation is kept two polls longer.
func secondPassLag(w time.Duration) time.Duration {
	return 2 * min(max(w/10, time.Second), 30*time.Second)
}

// RevocationKeepFor is the RevocationKeep of a store with in-flight window
// w that polls its second deletions every w/10 (1 s to 30 s), as Memory
// and redisadapter.Store do: w plus two polls.
func RevocationKeepFor(w time.Duration) time.Duration { return w + secondPassLag(w) }

// RevokingEnder is the Ender of every app, whatever its session store: at
// each logout it records a revocation, which the middleware package's
// Guard enforces on every request, and, given WithStore, ends the bound
// server-side sessions (deleting their data where the store can).
//
// Deletion alone cannot keep a user signed out: a request that loaded the
// session before the logout and saves it afterwards writes it back, and a
// login callback whose ID token was issued before the logout binds its
// session after it. The revocation catches both: the guard ends the
// written-back session at its next request, and Bind refuses the late
// login with ErrRevoked.
//
// Safe for concurrent use. EndSessions is idempotent, so the OP's retry,
// or the app's, may call it again with the same Logout.
type RevokingEnder struct {
	rev      Revocations
	store    Store
	keepFor  time.Duration
	lifetime time.Duration
	endAll   bool
	logger   *slog.Logger
}

var (
	_ Ender = (*RevokingEnder)(nil)
	_ Store = (*RevokingEnder)(nil)
)

// NewRevokingEnder returns an Ender that records each logout in rev.
//
// How long a revocation is kept: for the session lifetime
// (WithSessionLifetime), whatever the store. The revocation is the
// security boundary; deleting the session data is hygiene, and it misses
// every session the store's bindings do not name: a token renewed after
// login (scs RenewToken), bindings lost on a restart while the sessions
// persist, a session whose expiry slides past its binding's. The cost is
// memory or Redis space: about 100 bytes per revocation in
// MemoryRevocations, times the logouts of one session lifetime.
//
// WithShortKeepUnsafeUnlessBindingsComplete shortens the keep to a
// Windowed store's RevocationKeep; read its doc before using it.
//
// WithEndAllUserSessions makes a sid-scoped logout with a sub revoke all
// of that sub's sessions too; a logout with only a sid can only revoke the
// sid (the store, given the same option, still ends all the sessions of
// the sid's user that it knows).
func NewRevokingEnder(rev Revocations, opts ...EnderOption) (*RevokingEnder, error) {
	if rev == nil {
		return nil, errs.Config("sessionadapter", "nil Revocations")
	}
	cfg, err := newEnderConfig(opts)
	if err != nil {
		return nil, err
	}
	e := &RevokingEnder{rev: rev, store: cfg.store, keepFor: cfg.lifetime, lifetime: cfg.lifetime, endAll: cfg.endAll, logger: cfg.logger}
	if cfg.shortKeep {
		w, ok := cfg.store.(Windowed)
		if !ok || w.RevocationKeep() <= 0 {
			return nil, errs.Config("sessionadapter", "WithShortKeepUnsafeUnlessBindingsComplete needs WithStore of a store that deletes session data (Windowed)")
		}
		e.keepFor = min(w.RevocationKeep(), cfg.lifetime)
	}
	return e, nil
}

// KeepFor reports how long each revocation is kept (see NewRevokingEnder).
func (e *RevokingEnder) KeepFor() time.Duration { return e.keepFor }

// EndSessions records the revocation, then ends the store's sessions. It
// reports the store's count of ended sessions or, without a store, 1 (the
// revocation: the sessions live in browsers and end at their next
// request). An error means the logout may be incomplete and the OP (or the
// app) should retry; the revocation is recorded before anything is
// deleted, so a session is never left deleted but unrevoked.
//
// When the store fails, the revocation is extended to the session
// lifetime (WithSessionLifetime) before the error is returned: the data
// may not be deleted, nor its second deletion queued, so the revocation
// is then all that keeps the session ended, even if no retry ever comes.
// This matters only under WithShortKeepUnsafeUnlessBindingsComplete; by
// default every revocation is already kept for the lifetime. (A process
// that dies between the two steps leaves the revocation for the short keep
// only: the OP's retry, or rp.WithRetry's, completes it.)
func (e *RevokingEnder) EndSessions(ctx context.Context, l Logout) (int, error) {
	if err := e.revoke(ctx, l, e.keepFor); err != nil {
		return 0, err
	}
	if e.store == nil {
		return 1, nil
	}
	n, err := e.store.EndSessions(ctx, l)
	if err != nil && e.keepFor < e.lifetime {
		if rerr := e.revoke(context.WithoutCancel(ctx), l, e.lifetime); rerr != nil {
			e.logger.ErrorContext(ctx, "sessionadapter: could not extend the revocation of a logout whose sessions were not ended",
				slog.String("iss", l.Issuer), slog.String("sid", l.SessionID), slog.Any("error", rerr))
		}
	}
	return n, err
}

func (e *RevokingEnder) revoke(ctx context.Context, l Logout, keep time.Duration) error {
	if err := e.rev.Revoke(ctx, l, keep); err != nil {
		return err
	}
	if e.endAll && l.SessionID != "" && l.Subject != "" {
		all := l
		all.SessionID = ""
		return e.rev.Revoke(ctx, all, keep)
	}
	return nil
}

// Bind records b in the store (if any), then refuses it with an error
// wrapping ErrRevoked when a kept revocation ends it: the login raced its
// own logout. Checking after recording closes the race with a concurrent
// logout: either the check sees the revocation, or the logout, which
// revokes before it ends sessions, finds the binding. A refused binding is
// left to the logout's second deletion; the app should end the session it
// created (for gorilla, gorillaadapter.End) and not sign the user in.
//
// Without a store, Bind only checks: use it at login for cookie sessions
// to refuse, rather than stash, a login that is already logged out.
func (e *RevokingEnder) Bind(ctx context.Context, b Binding) error {
	if err := b.Validate(); err != nil {
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
		e.logger.WarnContext(ctx, "sessionadapter: login refused: its OP session was already logged out",
			slog.String("iss", b.Issuer), slog.String("sid", b.SessionID))
		return fmt.Errorf("%w: login at %v is not after the logout", ErrRevoked, b.LoginTime)
	}
	return nil
}

// Unbind forgets the binding of a local session in the store, for a local
// logout; without a store it does nothing.
func (e *RevokingEnder) Unbind(ctx context.Context, localID string) error {
	if e.store == nil {
		return ctx.Err()
	}
	return e.store.Unbind(ctx, localID)
}
