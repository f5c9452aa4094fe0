package sessionadapter

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Deleter deletes the data of one local session, for stores that keep
// session data server-side (files, a database).
type Deleter interface {
	// DeleteSession deletes the data of the local session localID.
	// Deleting an unknown session is a no-op and returns nil, so that a
	// retried logout succeeds.
	DeleteSession(ctx context.Context, localID string) error
}

// DeleterFunc adapts a function to the Deleter interface.
type DeleterFunc func(ctx context.Context, localID string) error

// DeleteSession calls f(ctx, localID).
func (f DeleterFunc) DeleteSession(ctx context.Context, localID string) error { return f(ctx, localID) }

var _ Deleter = DeleterFunc(nil)

// sweepPerOp bounds the expiry entries one call looks at, so no call pays
// for a backlog; each Bind adds one entry, so cleanup outpaces growth.
const sweepPerOp = 16

// scope is an index key: an issuer and a sid or sub.
type scope struct{ iss, id string }

// Memory is a Store that keeps its indexes in process memory. It finds a
// logout's sessions through per-(iss,sid) and per-(iss,sub) indexes, so
// the work is proportional to the sessions ended, never to all sessions.
// It serves one process; share sessions between replicas with the
// redisadapter package. Safe for concurrent use.
//
// With a Deleter, each logout deletes the sessions' data twice: at once,
// and when the in-flight window (WithInFlightWindow) has passed, which
// removes what a request still in flight at the logout wrote back (race
// (a) of RevokingEnder) and the sessions a late login bound after the
// logout (race (b)). A timer runs the second deletions; Close stops it.
// The queue lives in process memory, like the bindings: a restart forgets
// both.
type Memory struct {
	cfg memoryConfig

	mu       sync.Mutex
	bindings map[string]Binding // by LocalID; Expires always set
	bySID    map[scope]map[string]struct{}
	bySub    map[scope]map[string]struct{}
	expiries expiryHeap
	due      []dueEnd // second deletions, in order of due time
	timer    *time.Timer
	closed   bool
	ctx      context.Context // canceled by Close
	cancel   context.CancelFunc
	running  sync.WaitGroup // timer callbacks
}

// dueEnd is a logout to end again once its window has passed, and the
// local IDs it ended the first time (their bindings are gone, so the
// index cannot find a written-back session again).
type dueEnd struct {
	at  time.Time
	l   Logout
	ids []string
}

var (
	_ Store    = (*Memory)(nil)
	_ Windowed = (*Memory)(nil)
)

// NewMemory returns an empty Memory store.
func NewMemory(opts ...MemoryOption) (*Memory, error) {
	cfg, err := newMemoryConfig(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Memory{
		cfg:      cfg,
		bindings: make(map[string]Binding),
		bySID:    make(map[scope]map[string]struct{}),
		bySub:    make(map[scope]map[string]struct{}),
		ctx:      ctx,
		cancel:   cancel,
	}, nil
}

// InFlightWindow is the in-flight window with a Deleter, 0 without one.
func (m *Memory) InFlightWindow() time.Duration {
	if m.cfg.deleter == nil {
		return 0
	}
	return m.cfg.window
}

// RevocationKeep implements Windowed: RevocationKeepFor(the window) with a
// Deleter; 0 without one (the store deletes no data, so a revocation must
// be kept for the session lifetime).
func (m *Memory) RevocationKeep() time.Duration {
	if m.cfg.deleter == nil {
		return 0
	}
	return RevocationKeepFor(m.cfg.window)
}

// Close stops the timer of the second deletions and waits for a running
// one; those not yet due are dropped. The store must not be used after.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	if m.timer != nil {
		m.timer.Stop()
	}
	m.mu.Unlock()
	m.cancel()
	m.running.Wait()
	return nil
}

// EndDue runs the second deletions whose window has passed and reports
// how many sessions it deleted. The store's timer calls it; call it
// yourself to run them now (a test with an injected clock, a shutdown).
// A deletion that fails is kept for the next run and reported.
func (m *Memory) EndDue(ctx context.Context) (int, error) {
	if m.cfg.deleter == nil {
		return 0, nil
	}
	now := m.cfg.now()
	m.mu.Lock()
	var ready []dueEnd
	for len(m.due) > 0 && !m.due[0].at.After(now) {
		ready = append(ready, m.due[0])
		m.due = m.due[1:]
	}
	m.mu.Unlock()
	n := 0
	var errs []error
	for _, d := range ready {
		var failed []string
		for _, id := range d.ids {
			m.mu.Lock()
			b, bound := m.bindings[id]
			m.mu.Unlock()
			if bound && b.LoginTime.After(d.l.IssuedAt) {
				continue // the ID was reused by a login after the logout
			}
			if err := m.cfg.deleter.DeleteSession(ctx, id); err != nil {
				errs = append(errs, fmt.Errorf("%w: session %q: %w", ErrDelete, id, err))
				failed = append(failed, id)
				continue
			}
			n++
		}
		// Sessions bound after the logout by a login that raced it.
		late, err := m.end(ctx, d.l, false)
		n += late
		if err != nil {
			errs = append(errs, err)
		}
		if len(failed) > 0 || err != nil {
			m.mu.Lock()
			m.due = append(m.due, dueEnd{at: now.Add(m.cfg.window), l: d.l, ids: failed})
			m.mu.Unlock()
		}
	}
	m.arm()
	return n, errors.Join(errs...)
}

// arm sets the timer for the earliest due deletion.
func (m *Memory) arm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.due) == 0 {
		return
	}
	d := max(m.due[0].at.Sub(m.cfg.now()), 10*time.Millisecond)
	if m.timer != nil {
		m.timer.Reset(d)
		return
	}
	m.timer = time.AfterFunc(d, m.fire)
}

func (m *Memory) fire() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.running.Add(1)
	m.mu.Unlock()
	defer m.running.Done()
	if _, err := m.EndDue(m.ctx); err != nil && m.ctx.Err() == nil {
		m.cfg.logger.Error("sessionadapter: second deletion of ended sessions failed; retrying after the window", slog.Any("error", err))
	}
}

// Bind records b, replacing any binding with the same LocalID. A zero
// b.Expires means now plus the session lifetime.
func (m *Memory) Bind(ctx context.Context, b Binding) error {
	if err := b.Validate(); err != nil {
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
	heap.Push(&m.expiries, expiry{at: b.Expires, localID: b.LocalID})
	return nil
}

// Unbind forgets the binding of localID without deleting session data.
func (m *Memory) Unbind(ctx context.Context, localID string) error {
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
// bound and the error wraps ErrDelete, so the OP's retry can end it. With
// a Deleter it also queues the second deletion, for when the in-flight
// window has passed.
func (m *Memory) EndSessions(ctx context.Context, l Logout) (int, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return m.end(ctx, l, true)
}

// end ends the sessions l names whose login was not after the logout: a
// fresh login since (a late or retried logout token reaching the store
// after the user signed in again) must survive it. A binding without a
// login time is ended; so is every binding of a first pass (queue) whose
// logout has no iat, since nothing tells the fresh logins apart. The first
// pass queues the second, which ends the sessions a login that raced the
// logout bound late.
func (m *Memory) end(ctx context.Context, l Logout, queue bool) (int, error) {
	now := m.cfg.now()
	knownIAT := !l.IssuedAt.IsZero()
	if !knownIAT {
		l.IssuedAt = now
	}
	m.mu.Lock()
	m.sweepLocked(now)
	targets := m.targetsLocked(l, now)
	if knownIAT || !queue {
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
			errs = append(errs, fmt.Errorf("%w: session %q: %w", ErrDelete, b.LocalID, err))
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
	if queue && !m.closed {
		ids := make([]string, len(ended))
		for i, b := range ended {
			ids[i] = b.LocalID
		}
		m.due = append(m.due, dueEnd{at: now.Add(m.cfg.window), l: l, ids: ids})
	}
	m.mu.Unlock()
	if queue {
		m.arm()
	}
	return len(ended), errors.Join(errs...)
}

// targetsLocked applies the logout rules of the package doc to the live
// bindings; expired ones it meets are forgotten, not counted.
func (m *Memory) targetsLocked(l Logout, now time.Time) []Binding {
	seen := make(map[string]struct{})
	var out, expired []Binding
	defer func() {
		for _, b := range expired {
			m.removeLocked(b.LocalID)
		}
	}()
	add := func(ids map[string]struct{}) {
		for id := range ids {
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
			if b := m.bindings[id]; b.Expires.After(now) {
				out = append(out, b)
			} else {
				expired = append(expired, b)
			}
		}
	}
	if l.SessionID == "" {
		add(m.bySub[scope{l.Issuer, l.Subject}])
		return out
	}
	subjects := make(map[string]struct{})
	if l.Subject != "" {
		subjects[l.Subject] = struct{}{}
	}
	for id := range m.bySID[scope{l.Issuer, l.SessionID}] {
		b := m.bindings[id]
		if l.Subject != "" && b.Subject != "" && b.Subject != l.Subject {
			m.cfg.logger.Warn("sessionadapter: logout sub does not match the session's; session kept",
				slog.String("iss", l.Issuer), slog.String("sid", l.SessionID), slog.String("local_id", id))
			continue
		}
		if b.Subject != "" {
			subjects[b.Subject] = struct{}{}
		}
		add(map[string]struct{}{id: {}})
	}
	if m.cfg.endAll {
		for sub := range subjects {
			add(m.bySub[scope{l.Issuer, sub}])
		}
	}
	return out
}

func (m *Memory) removeLocked(localID string) {
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
func (m *Memory) sweepLocked(now time.Time) {
	for n := 0; n < sweepPerOp && m.expiries.Len() > 0; n++ {
		e := m.expiries[0]
		if e.at.After(now) {
			return
		}
		heap.Pop(&m.expiries)
		if b, ok := m.bindings[e.localID]; ok && b.Expires.Equal(e.at) {
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

type expiry struct {
	at      time.Time
	localID string
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// Len reports how many bindings the store holds, expired ones not yet
// forgotten included; for tests and metrics.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.bindings)
}
