// Package memrev is the in-memory revocation set: the Revocations that
// sessionadapter.NewMemoryRevocations returns, and the copy each
// redisadapter replica keeps of the revocations in Redis, fed from
// there. It knows no session types, so that both packages can use it;
// its callers check the arguments (Logout.Validate).
package memrev

import (
	"hash/maphash"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bclogout/bclogout/internal/minheap"
)

// sweepPerOp bounds the expiry entries one write looks at, so no write
// pays for a backlog.
const sweepPerOp = 16

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
	exp minheap.Heap[revExpiry] // soonest until first; stale entries are skipped
	_   [64]byte                // keeps shards on separate cache lines
}

// Set keeps revocations in process memory until they expire: the
// Revocations of sessionadapter.NewMemoryRevocations, and each replica's
// copy in redisadapter.
//
// Revocations are stored by 64-bit fingerprints of (kind, issuer, sid or
// sub, or both: a sid logout that names a sub takes two entries, its pair
// and a mark on the sid), hashed with a per-process random seed: about 200
// bytes per revocation (BenchmarkRevocationMemory: a sid logout with its
// sub takes two entries, each with its key, expiry heap slot and the maps'
// and heap's slack), whatever the lengths of the strings, and a check that hashes
// three strings and reads two maps, without allocating. Two distinct keys
// sharing a fingerprint (odds about n/2⁶⁴ per check with n revocations)
// can only sign a user out, never keep a revoked session alive, and the
// secret seed keeps anyone from aiming at one.
type Set struct {
	seed    maphash.Seed
	now     func() time.Time
	sidSkew int64 // ms; see defaults.SIDClockSkew
	shards  [revShards]revShard
	changed atomic.Pointer[chan struct{}]
	cursor  atomic.Uint32 // the shard the next write also sweeps
	subs    atomic.Int64  // (iss, sub) keys held, expired ones not yet swept included
}

// New returns an empty Set on the clock now. sidSkew is how much later
// than a sid revocation a login may be dated and still be ended by it
// (defaults.SIDClockSkew, but for tests).
func New(now func() time.Time, sidSkew time.Duration) *Set {
	m := &Set{seed: maphash.MakeSeed(), now: now, sidSkew: sidSkew.Milliseconds()}
	for i := range m.shards {
		m.shards[i].m = make(map[uint64]revEntry)
	}
	ch := make(chan struct{})
	m.changed.Store(&ch)
	return m
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

func (m *Set) hash(s string) uint64 {
	h := maphash.String(m.seed, s)
	if h == 0 {
		h = 1 // keeps 0 out of the fingerprints
	}
	return h
}

func (m *Set) shard(key uint64) *revShard { return &m.shards[key>>(64-6)] }

// Revoke records a revocation of the sessions that issuer's sub, sid, or
// both name (see sessionadapter.Revocations.Revoke), dated at (now, if
// zero), kept for keepFor. The caller has checked the arguments.
func (m *Set) Revoke(issuer, subject, sid string, at time.Time, keepFor time.Duration) {
	now := m.now()
	if at.IsZero() {
		at = now
	}
	hi := m.hash(issuer)
	atMS, until, nowMS := at.UnixMilli(), now.Add(keepFor).UnixMilli(), now.UnixMilli()
	var changed bool
	switch {
	case sid == "":
		changed = m.put(subKey(hi, m.hash(subject)), revEntry{at: atMS, subAt: noTime, until: until}, nowMS)
	case subject == "":
		changed = m.put(sidKey(hi, m.hash(sid)), revEntry{at: atMS, subAt: noTime, until: until}, nowMS)
	default:
		// The pair first, then the mark on the sid that sends Revoked to
		// it: a check in between finds no mark, as before the logout.
		hs := m.hash(sid)
		changed = m.put(pairKey(hi, hs, m.hash(subject)), revEntry{at: atMS, subAt: noTime, until: until}, nowMS)
		changed = m.put(sidKey(hi, hs), revEntry{at: noTime, subAt: atMS, until: until}, nowMS) || changed
	}
	if changed {
		m.Notify()
	}
	// Each write also sweeps one other shard in turn, so expired entries
	// go everywhere at the pace revocations come in.
	s := &m.shards[m.cursor.Add(1)%revShards]
	s.mu.Lock()
	s.sweepLocked(now.UnixMilli(), &m.subs)
	s.mu.Unlock()
}

// put merges e into the set and reports whether it can end a session it
// did not end before.
func (m *Set) put(key uint64, e revEntry, now int64) bool {
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

// Notify wakes the watchers of Changed: Revoke does when a revocation
// can end a session it did not, and a feed when something else can (a
// loss of the revocations it was fed).
func (m *Set) Notify() {
	ch := make(chan struct{})
	close(*m.changed.Swap(&ch))
}

// Changed returns a channel closed at the next Notify.
func (m *Set) Changed() <-chan struct{} { return *m.changed.Load() }

// Revoked reports whether a kept revocation ends the session of issuer's
// subject and sid logged in at login (see
// sessionadapter.Revocations.Revoked). It takes no lock for writing and does
// not allocate: it is the guard's check on every request. It hashes the
// issuer and the sid, reads one map, and reads the clock and hashes the
// sub only when it needs to: when an entry is found, for the
// (iss, sid, sub) key only when the sid's entry marks a logout that named
// a sub, and for the (iss, sub) key only while some sub revocation is
// kept. A session without a sub is ended by any revocation of its sid,
// since nothing shows it is not the named user's (fail closed).
func (m *Set) Revoked(issuer, subject, sid string, loginTime time.Time) bool {
	login := loginTime.UnixMilli()
	hi := m.hash(issuer)
	var sub uint64
	if sid != "" {
		hs := m.hash(sid)
		if e, ok := m.lookup(sidKey(hi, hs)); ok && e.until > m.now().UnixMilli() {
			if e.at != noTime && e.at+m.sidSkew >= login {
				return true
			}
			if e.subAt != noTime && e.subAt+m.sidSkew >= login {
				if subject == "" {
					return true
				}
				sub = m.hash(subject)
				if p, ok := m.lookup(pairKey(hi, hs, sub)); ok && p.at+m.sidSkew >= login && p.until > m.now().UnixMilli() {
					return true
				}
			}
		}
	}
	if subject != "" && m.subs.Load() > 0 {
		if sub == 0 {
			sub = m.hash(subject)
		}
		if e, ok := m.lookup(subKey(hi, sub)); ok && e.at >= login && e.until > m.now().UnixMilli() {
			return true
		}
	}
	return false
}

func (m *Set) lookup(key uint64) (revEntry, bool) {
	s := m.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	return e, ok
}

// sidKey, pairKey and subKey are the fingerprints of the three kinds of
// key; the low bit sets the sub keys apart, so that the set can count
// them.
func sidKey(iss, sid uint64) uint64       { return mix(iss, sid, kindSID) &^ 1 }
func pairKey(iss, sid, sub uint64) uint64 { return mix(iss, mix(sid, sub, kindPair), kindPair) &^ 1 }
func subKey(iss, sub uint64) uint64       { return mix(iss, sub, kindSub) | 1 }

// Len reports how many revocation entries are kept, expired ones not yet
// forgotten included.
func (m *Set) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// Sweep forgets every expired revocation and reports how many. Writes
// forget a few as they go, so the set stays bounded while revocations
// come in; a feed that stops receiving them sweeps now and then.
func (m *Set) Sweep() int {
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

// sweepLocked forgets at most sweepPerOp expired entries, so no write
// pays for a backlog; each write adds at most one heap entry, so cleanup
// outpaces growth.
func (s *revShard) sweepLocked(now int64, subs *atomic.Int64) { s.sweepN(now, sweepPerOp, subs) }

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
