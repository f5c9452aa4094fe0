package replay

import (
	"container/heap"
	"context"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"
)

// defaultCapacity is how many pairs a memory cache remembers at most unless
// NewMemory is told otherwise. At the default window (5 minutes of token
// age plus 1 minute of skew) it holds a sustained ~275 logouts per second,
// far beyond what one OP sends.
const defaultCapacity = 100_000

// A memory cache is split into shards, each with its own lock, map and
// expiry order, so that Records from several CPUs rarely wait for each
// other: with one lock for every pair, Record from two CPUs cost about 5x
// a sharded map's store and delete (BenchmarkMemoryRecord beside
// BenchmarkBaselineShardedMap, under -cpu 2). A shard holds at least
// minShardCapacity pairs, so a small cache is one shard and forgets the
// soonest of all its pairs; the default capacity makes maxShards shards.
const (
	maxShards        = 64
	minShardCapacity = 1024
)

// memory is the Cache NewMemory returns.
type memory struct {
	seedA, seedB maphash.Seed
	now          func() time.Time
	shards       []shard // a power of two of them
}

// shard is one lock's share of the pairs and of the capacity.
//
// Its expiry order is a heap of buckets, each holding the pairs whose
// until falls in one millisecond (tick): pairs recorded together mostly
// fall in one (a token's dates are whole seconds), so most Records append
// to the bucket the last one used, and the heap moves once per bucket
// rather than once per pair. The sweep empties a bucket once its
// millisecond has passed, so an expired pair stays in memory at most a
// millisecond longer; Seen and Record compare the exact until.
type shard struct {
	mu       sync.Mutex
	capacity int
	until    map[pairKey]int64 // unix nanoseconds
	due      bucketHeap        // one entry per bucket
	buckets  map[tick]*bucket
	last     *bucket   // the bucket the last Record used
	spare    []*bucket // emptied buckets, kept for reuse
	// The fields above fit in 128 bytes: the padding keeps two shards'
	// locks off one pair of cache lines, so CPUs on different shards do
	// not slow each other down.
	_ [128]byte
}

// tick is a millisecond of unix time: the bucket for the untils in
// ((t-1) ms, t ms].
type tick int64

func tickOf(unixNano int64) tick {
	return tick((unixNano + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

func (t tick) end() int64 { return int64(t) * int64(time.Millisecond) }

// bucket holds the pairs recorded with an until in its tick. A pair
// recorded again with a later until may stay behind in an older bucket,
// stale: its until has moved beyond the bucket's tick, which the sweep and
// the eviction check before forgetting it.
type bucket struct {
	at   tick
	keys []pairKey
}

// bucketHeap orders buckets by tick, soonest first, for container/heap:
// its elements are pointers, which an any holds without allocating.
type bucketHeap []*bucket

func (h bucketHeap) Len() int           { return len(h) }
func (h bucketHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h bucketHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *bucketHeap) Push(x any)        { *h = append(*h, x.(*bucket)) }
func (h *bucketHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	old[len(old)-1] = nil // the backing array must not keep it reachable
	*h = old[:len(old)-1]
	return b
}

// maxSpare bounds the emptied buckets a shard keeps for reuse.
const maxSpare = 16

var _ Cache = (*memory)(nil)

type pairKey [2]uint64

// NewMemory returns a bounded in-process Cache for a single RP replica: a
// map, a mutex and an expiry heap per shard, swept as pairs are recorded. It remembers at most capacity pairs (100,000 if capacity is
// not positive).
//
// A pair is stored as two maphash hashes with seeds chosen per cache, so
// an entry costs the same whatever the token's size and nobody can craft
// collisions. A collision (probability about n²/2¹²⁹) could only make a
// fresh token look replayed. One of the hashes picks the pair's shard: up
// to 64 of them, each with an equal share of capacity and at least 1,024
// pairs, so a cache of fewer than 2,048 pairs is a single shard.
//
// When a pair's shard is full of live pairs, Record forgets a pair of the
// shard whose until comes first, to the millisecond. That is the strictest choice that loses
// no logout: refusing to record would not stop the logout (it is already
// done), and the forgotten pair can at worst be accepted once more, which
// runs an idempotent logout again and ends nothing new. The pair
// forgotten is the one closest to leaving the window among the shard's
// share, one sixty-fourth of the pairs at the default capacity; a single
// global order would put every Record behind one lock. For the same
// reason a sharded cache may forget a pair while holding fewer than
// capacity pairs in all, when the hashes fill one shard before the others.
func NewMemory(capacity int) Cache {
	if capacity <= 0 {
		capacity = defaultCapacity
	}
	n := 1
	for n < maxShards && 2*n*minShardCapacity <= capacity {
		n *= 2
	}
	m := &memory{
		seedA:  maphash.MakeSeed(),
		seedB:  maphash.MakeSeed(),
		now:    time.Now,
		shards: make([]shard, n),
	}
	for i := range m.shards {
		sh := &m.shards[i]
		// The capacities add up to capacity exactly.
		sh.capacity = capacity / n
		if i < capacity%n {
			sh.capacity++
		}
		sh.until = make(map[pairKey]int64)
		sh.buckets = make(map[tick]*bucket)
	}
	return m
}

// shard returns the shard that holds k.
func (m *memory) shard(k pairKey) *shard {
	return &m.shards[k[1]&uint64(len(m.shards)-1)]
}

// Seen reports whether the pair was recorded and its until is still ahead.
func (m *memory) Seen(_ context.Context, issuer, jti string) (bool, error) {
	k := m.key(issuer, jti)
	now := m.now().UnixNano()
	sh := m.shard(k)
	sh.mu.Lock()
	u, ok := sh.until[k]
	sh.mu.Unlock()
	return ok && u > now, nil
}

// Record remembers the pair until the given time. Expired pairs of its
// shard are swept first; a shard still full forgets its pair expiring
// soonest.
func (m *memory) Record(_ context.Context, issuer, jti string, until time.Time) error {
	k := m.key(issuer, jti)
	now, u := m.now().UnixNano(), until.UnixNano()
	if u <= now {
		return nil
	}
	sh := m.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.sweep(now)
	if old, ok := sh.until[k]; ok {
		if old >= u {
			return nil
		}
	} else if len(sh.until) >= sh.capacity {
		sh.evictOne()
	}
	sh.until[k] = u
	b := sh.bucket(tickOf(u))
	b.keys = append(b.keys, k)
	return nil
}

// bucket returns the bucket of t, made if needed; sh.mu is held.
func (sh *shard) bucket(t tick) *bucket {
	if b := sh.last; b != nil && b.at == t {
		return b
	}
	b := sh.buckets[t]
	if b == nil {
		if n := len(sh.spare); n > 0 {
			b = sh.spare[n-1]
			sh.spare = sh.spare[:n-1]
		} else {
			b = new(bucket)
		}
		b.at = t
		sh.buckets[t] = b
		heap.Push(&sh.due, b)
	}
	sh.last = b
	return b
}

// sweep forgets every pair whose until has passed, a bucket at a time;
// sh.mu is held.
func (sh *shard) sweep(now int64) {
	for len(sh.due) > 0 && sh.due[0].at.end() <= now {
		b := heap.Pop(&sh.due).(*bucket)
		for _, k := range b.keys {
			if u, ok := sh.until[k]; ok && u <= now {
				delete(sh.until, k)
			}
		}
		sh.drop(b)
	}
}

// evictOne forgets a pair of the first bucket, one whose until comes
// first to the millisecond; sh.mu is held.
func (sh *shard) evictOne() {
	for len(sh.due) > 0 {
		b := sh.due[0]
		for len(b.keys) > 0 {
			k := b.keys[len(b.keys)-1]
			b.keys = b.keys[:len(b.keys)-1]
			// Not stale: its until is still in this bucket's tick.
			if u, ok := sh.until[k]; ok && u <= b.at.end() {
				delete(sh.until, k)
				return
			}
		}
		heap.Pop(&sh.due)
		sh.drop(b)
	}
}

// drop forgets the emptied bucket b, whose heap entry is gone, and keeps
// it for reuse.
func (sh *shard) drop(b *bucket) {
	delete(sh.buckets, b.at)
	if sh.last == b {
		sh.last = nil
	}
	if len(sh.spare) < maxSpare {
		b.keys = b.keys[:0]
		sh.spare = append(sh.spare, b)
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
