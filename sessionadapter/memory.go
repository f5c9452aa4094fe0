package sessionadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bclogout/bclogout/sessionadapter/internal/logid"
)

// Deleter deletes the data of one local session, for stores that keep
// session data server-side (files, a database).
type Deleter interface {
	// DeleteSession deletes the data of the local session localID.
	// Deleting an unknown session is a no-op and returns nil, so that a
	// retried logout succeeds.
	DeleteSession(ctx context.Context, localID string) error
}

// sweepPerOp bounds the expiry entries one call looks at, here and in the
// revocation set, so no call pays for a backlog; each Bind adds one entry,
// so cleanup outpaces growth.
const sweepPerOp = 16

// scope is an index key: an issuer and a sid or sub.
type scope struct{ iss, id string }

// memStore is the Store NewMemory returns.
type memStore struct {
	cfg config

	mu       sync.Mutex
	bindings map[string]Binding // by LocalID; Expires always set
	bySID    map[scope]map[string]struct{}
	bySub    map[scope]map[string]struct{}
	expiries minHeap[expiry] // soonest first; stale entries are skipped
}

var _ Store = (*memStore)(nil)

// NewMemory returns an empty Store that keeps its indexes in process memory. It finds a
// logout's sessions through per-(iss,sid) and per-(iss,sub) indexes, so
// the work is proportional to the sessions ended, never to all sessions.
// It serves one process; share sessions between replicas with the
// redisadapter package. Safe for concurrent use. The bindings live in
// process memory: a restart forgets them (the revocations NewRevokingEnder
// keeps still end the sessions).
//
// With a Deleter, each logout deletes the sessions' data. What a request
// still in flight at the logout writes back afterwards, the revocation
// ends at that session's next request (middleware.Guard); deletion frees
// storage, the revocation keeps the user signed out.
//
// It takes WithDeleter, WithSessionLifetime, WithLogger and WithClock.
func NewMemory(opts ...Option) (Store, error) {
	cfg, err := newConfig(ctorMemory, opts)
	if err != nil {
		return nil, err
	}
	return &memStore{
		cfg:      cfg,
		bindings: make(map[string]Binding),
		bySID:    make(map[scope]map[string]struct{}),
		bySub:    make(map[scope]map[string]struct{}),
	}, nil
}

// Bind records b, replacing any binding with the same LocalID. A zero
// b.Expires means now plus the session lifetime.
func (m *memStore) Bind(ctx context.Context, b Binding) error {
	if err := b.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := m.cfg.now()
	if b.Expires.IsZero() {
		b.Expires = now.Add(m.cfg.lifetime)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	m.removeLocked(b.LocalID)
	if !b.Expires.After(now) {
		return nil
	}
	m.bindings[b.LocalID] = b
	if b.SessionID != "" {
		addIndex(m.bySID, scope{b.Issuer, b.SessionID}, b.LocalID)
	}
	if b.Subject != "" {
		addIndex(m.bySub, scope{b.Issuer, b.Subject}, b.LocalID)
	}
	m.expiries.Push(expiry{due: dueMS(b.Expires), localID: b.LocalID})
	return nil
}

// IDTokenHint returns the raw ID token bound with localID, for the
// id_token_hint of a sign-out; "" when the binding has none or is gone
// (expired, ended, or forgotten by a restart).
func (m *memStore) IDTokenHint(ctx context.Context, localID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bindings[localID]
	if !ok || !b.Expires.After(m.cfg.now()) {
		return "", nil
	}
	return b.IDToken, nil
}

// Unbind forgets the binding of localID without deleting session data.
func (m *memStore) Unbind(ctx context.Context, localID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(localID)
	return nil
}

// EndSessions deletes the data of every live session the logout names
// (through the Deleter, if any) and forgets their bindings, sparing a
// session whose login time is after the logout's iat (a fresh login,
// reached by a late logout). It reports how
// many sessions it ended. A session whose data could not be deleted stays
// bound and an error is returned, so the OP's retry can end it.
func (m *memStore) EndSessions(ctx context.Context, l Logout) (int, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return m.end(ctx, l)
}

// end ends the sessions l names whose login was not after the logout: a
// fresh login since (a late or retried logout token reaching the store
// after the user signed in again) must survive it. A binding without a
// login time is ended; so is every binding when the logout has no iat,
// since nothing tells the fresh logins apart.
func (m *memStore) end(ctx context.Context, l Logout) (int, error) {
	now := m.cfg.now()
	m.mu.Lock()
	m.sweepLocked(now)
	targets := m.targetsLocked(l, now)
	if !l.IssuedAt.IsZero() {
		targets = slices.DeleteFunc(targets, func(b Binding) bool { return b.LoginTime.After(l.IssuedAt) })
	}
	if m.cfg.deleter == nil {
		for _, b := range targets {
			m.removeLocked(b.LocalID)
		}
		m.mu.Unlock()
		return len(targets), nil
	}
	m.mu.Unlock()

	// The Deleter does I/O: call it without the lock, then forget only
	// the bindings whose data is gone and which nobody rebound meanwhile.
	var errs []error
	ended := make([]Binding, 0, len(targets))
	for _, b := range targets {
		if err := m.cfg.deleter.DeleteSession(ctx, b.LocalID); err != nil {
			errs = append(errs, fmt.Errorf("sessionadapter: deleting the data of session %s: %w", logid.Of(b.LocalID), err))
			continue
		}
		ended = append(ended, b)
	}
	m.mu.Lock()
	for _, b := range ended {
		if cur, ok := m.bindings[b.LocalID]; ok && cur == b {
			m.removeLocked(b.LocalID)
		}
	}
	m.mu.Unlock()
	return len(ended), errors.Join(errs...)
}

// targetsLocked applies the logout rules of the package doc to the live
// bindings: a sid names its bindings (a sub with it must match theirs), a
// sub alone names all of the user's. Expired ones it meets are forgotten,
// not counted.
func (m *memStore) targetsLocked(l Logout, now time.Time) []Binding {
	ids := m.bySub[scope{l.Issuer, l.Subject}]
	if l.SessionID != "" {
		ids = m.bySID[scope{l.Issuer, l.SessionID}]
	}
	var out, expired []Binding
	for id := range ids {
		switch b := m.bindings[id]; {
		case !b.Expires.After(now):
			expired = append(expired, b)
		case l.SessionID != "" && l.Subject != "" && b.Subject != "" && b.Subject != l.Subject:
			m.cfg.logger.Warn("sessionadapter: logout sub does not match the session's; session kept",
				slog.String("iss", l.Issuer), slog.String("sid", l.SessionID), slog.String("local_id", logid.Of(id)))
		default:
			out = append(out, b)
		}
	}
	for _, b := range expired {
		m.removeLocked(b.LocalID)
	}
	return out
}

func (m *memStore) removeLocked(localID string) {
	b, ok := m.bindings[localID]
	if !ok {
		return
	}
	delete(m.bindings, localID)
	if b.SessionID != "" {
		removeIndex(m.bySID, scope{b.Issuer, b.SessionID}, localID)
	}
	if b.Subject != "" {
		removeIndex(m.bySub, scope{b.Issuer, b.Subject}, localID)
	}
}

// sweepLocked pops at most sweepPerOp expired entries, forgetting their
// bindings unless the entry is stale (the binding was replaced since).
func (m *memStore) sweepLocked(now time.Time) {
	nowMS := now.UnixMilli()
	for n := 0; n < sweepPerOp && len(m.expiries) > 0 && m.expiries[0].due <= nowMS; n++ {
		e := m.expiries.Pop()
		if b, ok := m.bindings[e.localID]; ok && dueMS(b.Expires) == e.due {
			m.removeLocked(e.localID)
		}
	}
}

func addIndex(idx map[scope]map[string]struct{}, k scope, id string) {
	set := idx[k]
	if set == nil {
		set = make(map[string]struct{}, 1)
		idx[k] = set
	}
	set[id] = struct{}{}
}

func removeIndex(idx map[scope]map[string]struct{}, k scope, id string) {
	set := idx[k]
	delete(set, id)
	if len(set) == 0 {
		delete(idx, k)
	}
}

// expiry is a binding's entry in the expiry heap.
type expiry struct {
	due     int64 // dueMS of the binding's Expires
	localID string
}

func (e expiry) Due() int64 { return e.due }

// dueMS returns t in Unix milliseconds, rounded up: an entry due by the
// current millisecond (rounded down) is then a binding expired by now,
// never one a few microseconds short of it. t is after 1970, as every
// kept binding expires after now.
func dueMS(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}

// len reports how many bindings the store holds, expired ones not yet
// forgotten included.
func (m *memStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.bindings)
}

// dueItem is an element of a minHeap, ordered by Due, soonest first.
type dueItem interface {
	Due() int64
}

// minHeap is the min-heap of expiries that the memory store and the
// memory revocations both keep, written out rather than driven by
// container/heap, whose any-typed Push allocates for every element. The
// zero value is empty.
type minHeap[T dueItem] []T

// Push adds x.
func (h *minHeap[T]) Push(x T) {
	*h = append(*h, x)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if q[parent].Due() <= q[i].Due() {
			break
		}
		q[parent], q[i] = q[i], q[parent]
		i = parent
	}
}

// Pop removes and returns the element due first, keeping no reference
// to it; the heap must not be empty.
func (h *minHeap[T]) Pop() T {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	// Clear the vacated slot: the backing array outlives the element, and
	// what it points to (a session's ID) must not stay reachable through it.
	var zero T
	q[last] = zero
	q = q[:last]
	for i := 0; ; {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(q) && q[l].Due() < q[least].Due() {
			least = l
		}
		if r < len(q) && q[r].Due() < q[least].Due() {
			least = r
		}
		if least == i {
			break
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
	*h = q
	return top
}
