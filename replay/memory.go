package replay

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

	"github.com/bclogout/bclogout/internal/minheap"
)

// defaultCapacity is how many pairs a memory cache remembers at most unless
// NewMemory is told otherwise. At the default window (5 minutes of token
// age plus 1 minute of skew) it holds a sustained ~275 logouts per second,
// far beyond what one OP sends.
const defaultCapacity = 100_000

// memory is the Cache NewMemory returns.
type memory struct {
	seedA, seedB maphash.Seed
	capacity     int
	now          func() time.Time

	mu      sync.Mutex
	until   map[pairKey]int64 // unix nanoseconds
	expires minheap.Heap[expiry]
}

var _ Cache = (*memory)(nil)

type pairKey [2]uint64

// NewMemory returns a bounded in-process Cache for a single RP replica: a
// map, a mutex and a heap of expiries, swept as pairs are recorded. It
// remembers at most capacity pairs (100,000 if capacity is not positive).
//
// A pair is stored as two maphash hashes with seeds chosen per cache, so
// an entry costs the same whatever the token's size and nobody can craft
// collisions. A collision (probability about n²/2¹²⁹) could only make a
// fresh token look replayed.
//
// When the cache is full of live pairs, Record forgets the pair whose
// until comes first. That is the strictest choice that loses no logout:
// refusing to record would not stop the logout (it is already done), and
// the forgotten pair can at worst be accepted once more, which runs an
// idempotent logout again and ends nothing new. The pair forgotten is the
// one closest to leaving the window anyway.
func NewMemory(capacity int) Cache {
	if capacity <= 0 {
		capacity = defaultCapacity
	}
	return &memory{
		seedA:    maphash.MakeSeed(),
		seedB:    maphash.MakeSeed(),
		capacity: capacity,
		now:      time.Now,
		until:    make(map[pairKey]int64),
	}
}

// Seen reports whether the pair was recorded and its until is still ahead.
func (m *memory) Seen(_ context.Context, issuer, jti string) (bool, error) {
	k := m.key(issuer, jti)
	now := m.now().UnixNano()
	m.mu.Lock()
	u, ok := m.until[k]
	m.mu.Unlock()
	return ok && u > now, nil
}

// Record remembers the pair until the given time. Expired pairs are
// swept first; a cache still full forgets the pair expiring soonest.
func (m *memory) Record(_ context.Context, issuer, jti string, until time.Time) error {
	k := m.key(issuer, jti)
	now, u := m.now().UnixNano(), until.UnixNano()
	if u <= now {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if old, ok := m.until[k]; ok {
		if old >= u {
			return nil
		}
	} else if len(m.until) >= m.capacity {
		m.evictOne()
	}
	m.until[k] = u
	m.expires.Push(expiry{at: u, key: k})
	return nil
}

// sweep forgets every pair whose until has passed; m.mu is held. A heap
// entry whose pair was recorded again with a later until is stale and only
// dropped.
func (m *memory) sweep(now int64) {
	for len(m.expires) > 0 && m.expires[0].at <= now {
		e := m.expires.Pop()
		if m.until[e.key] == e.at {
			delete(m.until, e.key)
		}
	}
}

// evictOne forgets the live pair whose until comes first; m.mu is held.
func (m *memory) evictOne() {
	for len(m.expires) > 0 {
		e := m.expires.Pop()
		if m.until[e.key] == e.at {
			delete(m.until, e.key)
			return
		}
	}
}

func (m *memory) key(issuer, jti string) pairKey {
	var h maphash.Hash
	h.SetSeed(m.seedA)
	writePair(&h, issuer, jti)
	a := h.Sum64()
	h.SetSeed(m.seedB)
	writePair(&h, issuer, jti)
	return pairKey{a, h.Sum64()}
}

// writePair writes len(issuer) ‖ issuer ‖ jti, as redisreplay's keys do:
// the fixed-width length comes first, so the encoding is one-to-one.
// After the issuer, the length could be forged inside a longer issuer:
// ("a", "\x09\0\0\0\0\0\0\0x") and ("a\x01\0\0\0\0\0\0\0", "x") were the
// same bytes.
func writePair(h *maphash.Hash, issuer, jti string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(issuer)))
	_, _ = h.Write(n[:])
	h.WriteString(issuer)
	h.WriteString(jti)
}

type expiry struct {
	at  int64
	key pairKey
}

func (e expiry) Due() int64 { return e.at }
