package replay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of NewMemory.
const (
	// DefaultCapacity is how many pairs a Memory remembers at most. At the
	// default maximum token age (5 minutes plus 1 minute of skew) it absorbs
	// a sustained ~275 logouts per second, far beyond what one OP sends.
	DefaultCapacity = 100_000
	// DefaultShards is how many independently locked parts a Memory is
	// split into, so that parallel requests rarely wait for each other.
	DefaultShards = 64
)

// ErrInvalidOption reports a NewMemory option that cannot be honoured.
var ErrInvalidOption = errors.New("replay: invalid option")

// MemoryOption configures NewMemory.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	capacity  int
	shards    int
	shardsSet bool
	now       func() time.Time
}

// WithCapacity sets how many pairs the Memory remembers at most (default
// DefaultCapacity). It must be positive.
func WithCapacity(n int) MemoryOption {
	return func(c *memoryConfig) { c.capacity = n }
}

// WithShards sets the number of shards, a power of two no larger than the
// capacity (default DefaultShards, lowered to fit a small capacity).
func WithShards(n int) MemoryOption {
	return func(c *memoryConfig) { c.shards, c.shardsSet = n, true }
}

// WithClock sets the source of the current time (default time.Now), so
// tests can expire entries without waiting.
func WithClock(now func() time.Time) MemoryOption {
	return func(c *memoryConfig) { c.now = now }
}

// Memory is a bounded in-process Cache for a single RP replica.
//
// Pairs are not stored: each is reduced to a 128-bit key made of two
// maphash hashes with seeds chosen at random per Memory, so an entry costs
// the same whatever the token's size and an attacker cannot aim tokens at
// one shard or craft collisions. A collision (probability about n²/2¹²⁹)
// can only make a fresh token look replayed, which refuses it; it can never
// let a replay through.
//
// The capacity is split evenly across the shards and is never exceeded.
// When the shard a pair hashes to is full of live entries, Reserve fails
// closed with ErrFull even if other shards have room, and Rejected counts
// it: with random seeds the shards fill evenly, so with the defaults the
// first refusals come at about 94% of the capacity. Live entries are never
// forgotten to make room.
//
// Cost: each shard keeps a min-heap of expiry times beside its map, so the
// earliest expiry is always at hand. Reserve is O(log s) for a shard of s
// entries, and O(1) when the pair is replayed or when a full shard's
// earliest expiry is still in the future (a shard full of live entries is
// refused without a scan). Every insert also reclaims up to two expired
// entries, and a full shard reclaims all of them; each entry is reclaimed
// at most once, so reclaiming adds O(log s) amortized per Reserve. Commit
// and Release are O(1). Release and the reuse of an expired entry leave a
// stale heap item behind; a shard's heap is rebuilt when it holds twice
// the shard's capacity, which bounds its memory at O(1) amortized cost.
//
// Memory measured about 85 bytes per entry with 100k entries.
type Memory struct {
	seedA, seedB maphash.Seed
	mask         uint64
	shards       []shard
	now          func() time.Time
	rejected     atomic.Uint64
}

var _ Cache = (*Memory)(nil)

type key [2]uint64

// entry is a pair's state. exp is in Unix nanoseconds, the time given to
// Reserve; after it the entry counts as absent.
type entry struct {
	exp       int64
	committed bool
}

type shard struct {
	mu       sync.Mutex
	entries  map[key]entry
	expiries expiryHeap
	capacity int
	// Keep neighbouring shards' locks on different cache lines.
	_ [64]byte
}

// NewMemory returns an empty Memory. An option out of range is an error
// wrapping ErrInvalidOption.
func NewMemory(opts ...MemoryOption) (*Memory, error) {
	cfg := memoryConfig{capacity: DefaultCapacity, shards: DefaultShards, now: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.capacity <= 0 {
		return nil, fmt.Errorf("%w: capacity %d must be positive", ErrInvalidOption, cfg.capacity)
	}
	if cfg.now == nil {
		return nil, fmt.Errorf("%w: nil clock", ErrInvalidOption)
	}
	if !cfg.shardsSet && cfg.shards > cfg.capacity {
		cfg.shards = 1 << (bits.Len(uint(cfg.capacity)) - 1)
	}
	if cfg.shards <= 0 || cfg.shards&(cfg.shards-1) != 0 {
		return nil, fmt.Errorf("%w: shards %d must be a power of two", ErrInvalidOption, cfg.shards)
	}
	if cfg.shards > cfg.capacity {
		return nil, fmt.Errorf("%w: shards %d exceed capacity %d", ErrInvalidOption, cfg.shards, cfg.capacity)
	}
	m := &Memory{
		seedA:  maphash.MakeSeed(),
		seedB:  maphash.MakeSeed(),
		mask:   uint64(cfg.shards - 1),
		shards: make([]shard, cfg.shards),
		now:    cfg.now,
	}
	// Hand the remainder out one by one so the shards add up to exactly
	// the capacity.
	per, extra := cfg.capacity/cfg.shards, cfg.capacity%cfg.shards
	for i := range m.shards {
		s := &m.shards[i]
		s.capacity = per
		if i < extra {
			s.capacity++
		}
		s.entries = make(map[key]entry)
	}
	return m, nil
}

// Reserve claims the pair until the given time. It returns ErrReplayed if
// the pair is reserved or committed and not expired, ErrFull if its shard
// is full of live entries, and ErrExpired if until is not after the
// current time (such a token cannot be accepted, so nothing is stored).
func (m *Memory) Reserve(_ context.Context, issuer, jti string, until time.Time) error {
	now := m.now()
	if !until.After(now) {
		return fmt.Errorf("%w: until %s, now %s", ErrExpired, until.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	nowNs, exp := now.UnixNano(), until.UnixNano()
	k := m.key(issuer, jti)
	s := m.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[k]; ok {
		if e.exp > nowNs {
			return ErrReplayed
		}
		// Expired: reuse the slot; its heap item is now stale.
	} else if len(s.entries) >= s.capacity && !s.reclaim(nowNs, -1) {
		m.rejected.Add(1)
		return fmt.Errorf("%w: %d live entries in the shard", ErrFull, len(s.entries))
	}
	// Forgetting a couple of expired entries on every insert keeps the map
	// and heap near the live size, where they are faster, at a constant
	// cost; a full shard still reclaims everything that expired.
	s.reclaim(nowNs, 2)
	s.entries[k] = entry{exp: exp}
	s.expiries.push(expiry{exp: exp, key: k})
	if len(s.expiries) > 2*s.capacity {
		s.rebuild(nowNs)
	}
	return nil
}

// Commit marks a reserved pair as used until the time given to Reserve.
// Committing an unknown, expired or already committed pair is a no-op.
func (m *Memory) Commit(_ context.Context, issuer, jti string) error {
	nowNs := m.now().UnixNano()
	k := m.key(issuer, jti)
	s := m.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[k]; ok && e.exp > nowNs && !e.committed {
		e.committed = true
		s.entries[k] = e
	}
	return nil
}

// Release forgets a reserved pair so that it can be reserved again.
// Releasing a committed or unknown pair is a no-op.
func (m *Memory) Release(_ context.Context, issuer, jti string) error {
	k := m.key(issuer, jti)
	s := m.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[k]; ok && !e.committed {
		delete(s.entries, k)
	}
	return nil
}

// Len reports how many entries the Memory holds, counting expired ones
// that have not been reclaimed yet.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// Rejected reports how many Reserve calls failed closed with ErrFull.
func (m *Memory) Rejected() uint64 {
	return m.rejected.Load()
}

// key hashes the pair with the issuer's length first, so that no two
// different pairs feed the same bytes to the hash ("ab"+"c" vs "a"+"bc").
func (m *Memory) key(issuer, jti string) key {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(issuer)))
	var h maphash.Hash
	h.SetSeed(m.seedA)
	h.Write(n[:])
	h.WriteString(issuer)
	h.WriteString(jti)
	a := h.Sum64()
	h.SetSeed(m.seedB)
	h.Write(n[:])
	h.WriteString(issuer)
	h.WriteString(jti)
	return key{a, h.Sum64()}
}

func (m *Memory) shard(k key) *shard {
	return &m.shards[k[0]&m.mask]
}

// reclaim removes up to limit (all if negative) expired entries from the
// top of the heap and reports whether the shard has room now. When the
// earliest expiry is still in the future it returns at once: a shard full
// of live entries costs O(1) to refuse.
func (s *shard) reclaim(nowNs int64, limit int) bool {
	for ; limit != 0 && len(s.expiries) > 0 && s.expiries[0].exp <= nowNs; limit-- {
		it := s.expiries.pop()
		// The item is stale when the pair was released or reserved again
		// since; only the entry it describes may go.
		if e, ok := s.entries[it.key]; ok && e.exp == it.exp {
			delete(s.entries, it.key)
		}
	}
	return len(s.entries) < s.capacity
}

// rebuild drops stale heap items and expired entries.
func (s *shard) rebuild(nowNs int64) {
	s.expiries = s.expiries[:0]
	for k, e := range s.entries {
		if e.exp <= nowNs {
			delete(s.entries, k)
			continue
		}
		s.expiries = append(s.expiries, expiry{exp: e.exp, key: k})
	}
	s.expiries.init()
}

type expiry struct {
	exp int64
	key key
}

// expiryHeap orders a shard's entries by expiry, earliest first. It is
// typed rather than a container/heap so that Reserve does not allocate,
// and four-ary because reclaiming pops from a heap whose last item, being
// the newest, sinks all the way down: half the depth of a binary heap, with
// the siblings compared side by side in memory.
type expiryHeap []expiry

const arity = 4

func (h *expiryHeap) push(it expiry) {
	*h = append(*h, it)
	h.up(len(*h) - 1)
}

func (h *expiryHeap) pop() expiry {
	old := *h
	n := len(old) - 1
	it := old[0]
	old[0] = old[n]
	*h = old[:n]
	h.down(0)
	return it
}

func (h expiryHeap) init() {
	for i := (len(h) - 2) / arity; i >= 0; i-- {
		h.down(i)
	}
}

func (h expiryHeap) up(i int) {
	it := h[i]
	for i > 0 {
		p := (i - 1) / arity
		if h[p].exp <= it.exp {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = it
}

func (h expiryHeap) down(i int) {
	if i >= len(h) {
		return
	}
	it := h[i]
	for {
		first := arity*i + 1
		if first >= len(h) {
			break
		}
		c := first
		for j := first + 1; j < first+arity && j < len(h); j++ {
			if h[j].exp < h[c].exp {
				c = j
			}
		}
		if it.exp <= h[c].exp {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = it
}
