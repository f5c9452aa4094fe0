package sessionadapter

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// Revocations remembers logouts for sessions that cannot be deleted
// server-side (cookie sessions, whose data lives only in the browser), so
// that a request-time guard can end them (§2.7). A revocation is checked
// against a session's login time, both on the OP's clock, which makes the
// order of arrival irrelevant: a logout recorded before the login it ends
// is stored, or long after, still catches it, and a fresh login after the
// logout stays valid.
//
// Implementations are safe for concurrent use.
type Revocations interface {
	// Revoke records that the sessions l names ended at l.IssuedAt (now,
	// if zero), and keeps that for keepFor, which must cover the session
	// lifetime. A logout with a sid revokes that OP session only (for its
	// sub, when the token has one); a logout with only a sub revokes all
	// of the user's sessions at the issuer. Revoking again keeps the
	// latest time and the longest keep.
	Revoke(ctx context.Context, l Logout, keepFor time.Duration) error
	// Revoked reports whether a kept revocation ends b: one for
	// (b.Issuer, b.SessionID) whose sub matches b.Subject when both are
	// known, or one for (b.Issuer, b.Subject), recorded at or after
	// b.LoginTime (the login was not after the logout).
	Revoked(ctx context.Context, b Binding) (bool, error)
}

// validateRevoke checks the arguments of Revocations.Revoke.
func validateRevoke(l Logout, keepFor time.Duration) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if keepFor <= 0 {
		return fmt.Errorf("%w: keep revocations for %v, which is not positive", ErrInvalidConfig, keepFor)
	}
	return nil
}

type revKind uint8

const (
	revSID    revKind = iota + 1 // (iss, sid) for one sub, "" when the token had none
	revSIDAny                    // (iss, sid) whatever the sub: for bindings without a sub
	revSub                       // (iss, sub)
)

type revKey struct {
	kind         revKind
	iss, id, sub string
}

type revEntry struct{ at, until time.Time }

// MemoryRevocations keeps revocations in process memory until they
// expire, so its size is bounded by the logouts of one keep period. It
// serves one process; share revocations between replicas with the
// redisadapter package.
type MemoryRevocations struct {
	now func() time.Time

	mu       sync.Mutex
	entries  map[revKey]revEntry
	expiries revHeap
}

var _ Revocations = (*MemoryRevocations)(nil)

// NewMemoryRevocations returns an empty MemoryRevocations. It reads
// WithClock.
func NewMemoryRevocations(opts ...Option) (*MemoryRevocations, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &MemoryRevocations{now: cfg.now, entries: make(map[revKey]revEntry)}, nil
}

// Revoke implements Revocations.
func (m *MemoryRevocations) Revoke(ctx context.Context, l Logout, keepFor time.Duration) error {
	if err := validateRevoke(l, keepFor); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := m.now()
	at := l.IssuedAt
	if at.IsZero() {
		at = now
	}
	e := revEntry{at: at, until: now.Add(keepFor)}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	if l.SessionID != "" {
		m.putLocked(revKey{revSID, l.Issuer, l.SessionID, l.Subject}, e)
		m.putLocked(revKey{revSIDAny, l.Issuer, l.SessionID, ""}, e)
		return nil
	}
	m.putLocked(revKey{revSub, l.Issuer, l.Subject, ""}, e)
	return nil
}

// Revoked implements Revocations.
func (m *MemoryRevocations) Revoked(ctx context.Context, b Binding) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := m.now()
	var keys []revKey
	if b.SessionID != "" {
		if b.Subject == "" {
			keys = append(keys, revKey{revSIDAny, b.Issuer, b.SessionID, ""})
		} else {
			keys = append(keys, revKey{revSID, b.Issuer, b.SessionID, ""}, revKey{revSID, b.Issuer, b.SessionID, b.Subject})
		}
	}
	if b.Subject != "" {
		keys = append(keys, revKey{revSub, b.Issuer, b.Subject, ""})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	for _, k := range keys {
		if e, ok := m.entries[k]; ok && e.until.After(now) && !e.at.Before(b.LoginTime) {
			return true, nil
		}
	}
	return false, nil
}

func (m *MemoryRevocations) putLocked(k revKey, e revEntry) {
	if old, ok := m.entries[k]; ok {
		if old.at.After(e.at) {
			e.at = old.at
		}
		if old.until.After(e.until) {
			e.until = old.until
		}
	}
	m.entries[k] = e
	heap.Push(&m.expiries, revExpiry{until: e.until, key: k})
}

// sweepLocked pops at most sweepPerOp expired entries; an entry whose
// keep was extended since is left alone.
func (m *MemoryRevocations) sweepLocked(now time.Time) {
	for n := 0; n < sweepPerOp && m.expiries.Len() > 0; n++ {
		x := m.expiries[0]
		if x.until.After(now) {
			return
		}
		heap.Pop(&m.expiries)
		if e, ok := m.entries[x.key]; ok && !e.until.After(now) {
			delete(m.entries, x.key)
		}
	}
}

type revExpiry struct {
	until time.Time
	key   revKey
}

type revHeap []revExpiry

func (h revHeap) Len() int           { return len(h) }
func (h revHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h revHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *revHeap) Push(x any)        { *h = append(*h, x.(revExpiry)) }
func (h *revHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// RevokingEnder is the Ender for cookie sessions: it records each logout
// in a Revocations, for the guard to enforce at request time.
type RevokingEnder struct {
	rev     Revocations
	keepFor time.Duration
	endAll  bool
}

var _ Ender = (*RevokingEnder)(nil)

// NewRevokingEnder returns an Ender over rev. It reads
// WithSessionLifetime (how long revocations are kept: at least the
// sessions' lifetime) and WithEndAllUserSessions (a sid-scoped logout with
// a sub also revokes all of that sub's sessions; without a sub only the
// sid can be revoked, since cookie sessions leave no server-side record of
// which user a sid belongs to).
func NewRevokingEnder(rev Revocations, opts ...Option) (*RevokingEnder, error) {
	if rev == nil {
		return nil, fmt.Errorf("%w: nil Revocations", ErrInvalidConfig)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &RevokingEnder{rev: rev, keepFor: cfg.lifetime, endAll: cfg.endAll}, nil
}

// EndSessions records the revocation and reports 1: the count is of
// revocations recorded, not of sessions, since the sessions live in
// browsers and end at their next request. An error means nothing may be
// recorded and the OP should retry.
func (e *RevokingEnder) EndSessions(ctx context.Context, l Logout) (int, error) {
	if err := e.rev.Revoke(ctx, l, e.keepFor); err != nil {
		return 0, err
	}
	if e.endAll && l.SessionID != "" && l.Subject != "" {
		all := l
		all.SessionID = ""
		if err := e.rev.Revoke(ctx, all, e.keepFor); err != nil {
			return 0, err
		}
	}
	return 1, nil
}

// Len reports how many revocation entries are kept, expired ones not yet
// forgotten included; for tests and metrics.
func (m *MemoryRevocations) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
