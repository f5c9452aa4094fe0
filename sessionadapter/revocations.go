package sessionadapter

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter/internal/logid"
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
	// longest keep. A Logout that fails l.Validate is refused with its
	// error, as is a keepFor that is not positive.
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

// Validate reports whether l names sessions: an issuer and a sub or sid,
// and, if it has one, a date after 1970. Every Revocations and Ender here
// and in the adapters refuses a Logout it rejects; a custom
// implementation calls it to refuse the same.
func (l Logout) Validate() error {
	switch {
	case l.Issuer == "":
		return fmt.Errorf("%w: no issuer", ErrInvalid)
	case l.Subject == "" && l.SessionID == "":
		return fmt.Errorf("%w: neither sub nor sid", ErrInvalid)
	case !l.IssuedAt.IsZero() && l.IssuedAt.Unix() <= 0:
		// Not a time any OP dates a token at (RFC 7519 NumericDates are
		// after the epoch), and not one the stores can encode.
		return fmt.Errorf("%w: issued at %v, not after 1970", ErrInvalid, l.IssuedAt)
	}
	return nil
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
				e.logger.WarnContext(ctx, "sessionadapter: could not unbind a refused login", slog.String("local_id", logid.Of(b.LocalID)), slog.Any("error", err))
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

// revShards spreads the set over independently locked maps, so that
// parallel guards and a writer rarely meet on one lock.
const revShards = 64

// Kinds of revocation key, mixed into the key's fingerprint.
const (
	kindSID  uint64 = 0x5bd1e995_8f1bbcdc // (iss, sid)
	kindSub  uint64 = 0x2545f491_4f6cdd1d // (iss, sub)
	kindPair uint64 = 0x9e3779b9_7f4a7c15 // (iss, sid, sub)
)

// noTime marks an entry's time as absent.
const noTime = math.MinInt64

// revEntry is one revocation: 24 bytes, times in Unix milliseconds. A
// (iss, sub) or (iss, sid, sub) entry holds its time in at. An (iss, sid)
// entry holds in at the time of a logout that named no sub (the sid is
// revoked for any sub), and in subAt the latest time of a logout that
// named one, whose own (iss, sid, sub) entry tells which: either may be
// noTime. until is when the entry may be forgotten.
type revEntry struct {
	at, subAt, until int64
}

type revExpiry struct {
	until int64
	key   uint64
}

func (x revExpiry) Due() int64 { return x.until }

type revShard struct {
	mu  sync.RWMutex
	m   map[uint64]revEntry
	exp minHeap[revExpiry] // soonest until first; stale entries are skipped
	_   [64]byte           // keeps shards on separate cache lines
}

// memoryRevocations is the Revocations NewMemoryRevocations returns: a set
// kept in process memory until its revocations expire.
//
// Revocations are stored by 64-bit fingerprints of (kind, issuer, sid or
// sub, or both: a sid logout that names a sub takes two entries, its pair
// and a mark on the sid), hashed with a per-process random seed: about 200
// bytes per revocation (BenchmarkRevocationMemory: a sid logout with its
// sub takes two entries, each with its key, expiry heap slot and the maps'
// and heap's slack), whatever the lengths of the strings, and a check that
// hashes three strings and reads two maps, without allocating. Two
// distinct keys sharing a fingerprint (odds about n/2⁶⁴ per check with n
// revocations) can only sign a user out, never keep a revoked session
// alive, and the secret seed keeps anyone from aiming at one.
type memoryRevocations struct {
	seed    maphash.Seed
	now     func() time.Time
	sidSkew int64 // ms; see defaults.SIDClockSkew
	shards  [revShards]revShard
	changed atomic.Pointer[chan struct{}]
	cursor  atomic.Uint32 // the shard the next write also sweeps
	subs    atomic.Int64  // (iss, sub) keys held, expired ones not yet swept included
}

var (
	_ Revocations = (*memoryRevocations)(nil)
	_ Watchable   = (*memoryRevocations)(nil)
)

// NewMemoryRevocations returns empty Revocations kept in process memory until
// they expire: about 200 bytes per revocation, whatever the lengths of the
// strings, and a check that reads two maps without allocating. Each Revoke
// forgets a few expired revocations, so their size is bounded by the most
// logouts recorded in any one keep period; a burst's memory is given back as
// later logouts are recorded (a replica of redisadapter or pgadapter also
// forgets every expired one every 30 s). They serve one process;
// redisadapter.Revocations and pgadapter.Revocations each feed one per replica.
// They also implement Watchable, for middleware.NewNotifier. It takes
// WithClock.
func NewMemoryRevocations(opts ...Option) (Revocations, error) {
	cfg, err := newConfig(ctorRevocations, opts)
	if err != nil {
		return nil, err
	}
	m := &memoryRevocations{seed: maphash.MakeSeed(), now: cfg.now, sidSkew: cfg.sidSkew.Milliseconds()}
	for i := range m.shards {
		m.shards[i].m = make(map[uint64]revEntry)
	}
	ch := make(chan struct{})
	m.changed.Store(&ch)
	return m, nil
}

// Revoke implements Revocations.
func (m *memoryRevocations) Revoke(ctx context.Context, l Logout, keepFor time.Duration) error {
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
	hi := m.hash(l.Issuer)
	atMS, until, nowMS := at.UnixMilli(), now.Add(keepFor).UnixMilli(), now.UnixMilli()
	var changed bool
	switch {
	case l.SessionID == "":
		changed = m.put(subKey(hi, m.hash(l.Subject)), revEntry{at: atMS, subAt: noTime, until: until}, nowMS)
	case l.Subject == "":
		changed = m.put(sidKey(hi, m.hash(l.SessionID)), revEntry{at: atMS, subAt: noTime, until: until}, nowMS)
	default:
		// The pair first, then the mark on the sid that sends Revoked to
		// it: a check in between finds no mark, as before the logout.
		hs := m.hash(l.SessionID)
		changed = m.put(pairKey(hi, hs, m.hash(l.Subject)), revEntry{at: atMS, subAt: noTime, until: until}, nowMS)
		changed = m.put(sidKey(hi, hs), revEntry{at: noTime, subAt: atMS, until: until}, nowMS) || changed
	}
	if changed {
		// Watchers wake only for a revocation that can end a session no
		// kept one did, so a retried logout wakes no page.
		ch := make(chan struct{})
		close(*m.changed.Swap(&ch))
	}
	// Each write also sweeps one other shard in turn, so expired entries
	// go everywhere at the pace revocations come in.
	s := &m.shards[m.cursor.Add(1)%revShards]
	s.mu.Lock()
	s.sweepLocked(nowMS, &m.subs)
	s.mu.Unlock()
	return nil
}

// put merges e into the set and reports whether it can end a session it
// did not end before.
func (m *memoryRevocations) put(key uint64, e revEntry, now int64) bool {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now, &m.subs)
	old, ok := s.m[key]
	if !ok && key&1 == 1 {
		m.subs.Add(1)
	}
	changed := true
	if ok && old.until > now {
		changed = e.at > old.at || e.subAt > old.subAt
		e.at, e.subAt = max(e.at, old.at), max(e.subAt, old.subAt)
		if old.until >= e.until {
			s.m[key] = revEntry{at: e.at, subAt: e.subAt, until: old.until}
			return changed
		}
	}
	s.m[key] = e
	s.exp.Push(revExpiry{until: e.until, key: key})
	return changed
}

// Revoked implements Revocations: it is the guard's check on every
// request, so it takes no lock for writing and does not allocate. It
// hashes the issuer and the sid, reads one map, and reads the clock and
// hashes the sub only when it needs to: when an entry is found, for the
// (iss, sid, sub) key only when the sid's entry marks a logout that named
// a sub, and for the (iss, sub) key only while some sub revocation is
// kept. A session without a sub is ended by any revocation of its sid,
// since nothing shows it is not the named user's (fail closed).
func (m *memoryRevocations) Revoked(ctx context.Context, b Binding) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	login := b.LoginTime.UnixMilli()
	hi := m.hash(b.Issuer)
	var sub uint64
	if b.SessionID != "" {
		hs := m.hash(b.SessionID)
		if e, ok := m.lookup(sidKey(hi, hs)); ok && e.until > m.now().UnixMilli() {
			if e.at != noTime && e.at+m.sidSkew >= login {
				return true, nil
			}
			if e.subAt != noTime && e.subAt+m.sidSkew >= login {
				if b.Subject == "" {
					return true, nil
				}
				sub = m.hash(b.Subject)
				if p, ok := m.lookup(pairKey(hi, hs, sub)); ok && p.at+m.sidSkew >= login && p.until > m.now().UnixMilli() {
					return true, nil
				}
			}
		}
	}
	if b.Subject != "" && m.subs.Load() > 0 {
		if sub == 0 {
			sub = m.hash(b.Subject)
		}
		if e, ok := m.lookup(subKey(hi, sub)); ok && e.at >= login && e.until > m.now().UnixMilli() {
			return true, nil
		}
	}
	return false, nil
}

// Changed implements Watchable: the channel is closed by the next Revoke
// that can end a session no kept revocation ended.
func (m *memoryRevocations) Changed() <-chan struct{} { return *m.changed.Load() }

func (m *memoryRevocations) hash(s string) uint64 {
	h := maphash.String(m.seed, s)
	if h == 0 {
		h = 1 // keeps 0 out of the fingerprints
	}
	return h
}

func (m *memoryRevocations) shard(key uint64) *revShard { return &m.shards[key>>(64-6)] }

func (m *memoryRevocations) lookup(key uint64) (revEntry, bool) {
	s := m.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	return e, ok
}

// mix combines the hashes of an issuer and an ID into a key fingerprint.
func mix(iss, id, kind uint64) uint64 {
	x := iss ^ bits.RotateLeft64(id*0x9e3779b97f4a7c15, 29) ^ kind
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// sidKey, pairKey and subKey are the fingerprints of the three kinds of
// key; the low bit sets the sub keys apart, so that the set can count
// them.
func sidKey(iss, sid uint64) uint64       { return mix(iss, sid, kindSID) &^ 1 }
func pairKey(iss, sid, sub uint64) uint64 { return mix(iss, mix(sid, sub, kindPair), kindPair) &^ 1 }
func subKey(iss, sub uint64) uint64       { return mix(iss, sub, kindSub) | 1 }

// len reports how many revocation entries are kept, expired ones not yet
// forgotten included.
func (m *memoryRevocations) len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// sweepLocked forgets at most sweepPerOp expired entries, so no write
// pays for a backlog; each write adds at most two heap entries and sweeps
// two shards, so cleanup outpaces growth.
func (s *revShard) sweepLocked(now int64, subs *atomic.Int64) { s.sweepN(now, sweepPerOp, subs) }

// sweepN forgets at most limit expired entries (all of them for a negative
// limit) and reports how many; s.mu is held.
func (s *revShard) sweepN(now int64, limit int, subs *atomic.Int64) int {
	n := 0
	for ; limit != 0 && len(s.exp) > 0 && s.exp[0].until <= now; limit-- {
		x := s.exp.Pop()
		if e, ok := s.m[x.key]; ok && e.until <= now {
			delete(s.m, x.key)
			if x.key&1 == 1 {
				subs.Add(-1)
			}
			n++
		}
	}
	if len(s.exp) == 0 && cap(s.exp) > 1024 {
		s.exp = nil // give a drained burst's memory back
	}
	return n
}

// Sweep forgets every expired revocation now and reports how many. It is
// no part of the Revocations contract, and no exported type has it: each
// Revoke forgets a few, which bounds a process that keeps recording
// logouts, and a replica of redisadapter or pgadapter, whose feed runs
// anyway, calls it every 30 s (through internal/mirror), so that the
// memory of a burst of logouts is given back when no more come.
func (m *memoryRevocations) Sweep() int {
	now := m.now().UnixMilli()
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.sweepN(now, -1, &m.subs)
		s.mu.Unlock()
	}
	return n
}
