package replay

import (
	"math"
	"math/bits"
	"sync"
)

// The shape of a shard's timing wheel.
const (
	// granuleShift makes a tick 2²⁰ ns, about 1 ms: fine enough that even
	// entries living a few milliseconds are reclaimed promptly.
	granuleShift = 20
	// slotBits makes each level 256 buckets wide (256 ms, 69 s, 4.9 h, …),
	// so that a token living minutes is filed at level 2 and moved twice
	// before its reclaim: a quarter fewer moves than with 64 buckets a
	// level, for 6 KiB of bucket heads per shard.
	slotBits = 8
	slots    = 1 << slotBits
	// Ticks of every int64 time fit in tickBits bits (see tickOf), and
	// levels·slotBits must cover them.
	tickBits = 64 - granuleShift
	levels   = (tickBits + slotBits - 1) / slotBits
	buckets  = levels * slots
	// sweepBudget is how many steps of the sweep a Reserve does beside its
	// own insert. An entry costs at most levels+1 steps over its life, a
	// typical one (expiring within minutes) three or four; the spare budget
	// absorbs a coarse bucket's cascade quickly, so expired entries do not
	// linger behind it, and the full-shard path catches up whatever a quiet
	// period left behind.
	sweepBudget = 16
)

// tickOf maps Unix nanoseconds onto unsigned ticks, in the same order, so
// that ticks from before 1970 compare correctly too.
func tickOf(ns int64) uint64 {
	return uint64(ns>>granuleShift) + 1<<(tickBits-1)
}

// node is one entry. Nodes live in the shard's nodes slice and link into
// the list of their bucket by index; index 0 means none, so nodes[0] is
// never used.
type node struct {
	key        key
	exp        int64 // Unix nanoseconds, the until given to Reserve
	next, prev uint32
	// gen tells this entry's reservation apart from earlier and later
	// ones of the same pair (the Reservation's Token).
	gen       uint32
	bucket    uint16
	committed bool
}

// shard is one independently locked part of a Memory: a map from key to
// node, the nodes, and the wheel that files them by expiry.
//
// The wheel has a cursor, a tick: every entry whose tick is below it has
// been reclaimed. An entry's tick t (never below the cursor c when it is
// filed) goes to the level of the highest base-256 digit in which t and c
// differ, level 0 if they differ only in the lowest digit, and to the
// slot of t's digit at that level. So each level-0 bucket holds a single
// tick, and a bucket at level l holds ticks that share c's digits above l
// and have a digit at l greater than c's; the lowest occupied bucket of the
// lowest occupied level therefore holds the earliest entries. Advancing the
// cursor to that bucket's first tick makes the bucket's digits equal to the
// cursor's, so its entries are filed again relative to the cursor, each at
// a lower level; a level-0 bucket whose tick is behind now is reclaimed.
type shard struct {
	mu       sync.Mutex
	index    map[key]uint32
	nodes    []node
	free     uint32 // first node of the free list, linked through next
	capacity int
	// gen numbers the shard's reservations; it wraps after 2³² of them,
	// far more than one pair ever sees in a token's lifetime.
	gen uint32

	cursor uint64
	// cascading is 1 + the bucket whose entries are being filed again,
	// or 0. Its occupied bit is already clear, so the search for the
	// earliest bucket skips it.
	cascading int
	// occupied has a bit per bucket, set while its list is not empty;
	// words has a bit per occupied word that is not zero. Buckets are
	// numbered level by level, so the lowest bit is the earliest bucket.
	occupied [buckets / 64]uint64
	words    uint64
	heads    [buckets]uint32
	// No entry of tick edgeTick expires before edgeExp; see makeRoom.
	edgeTick uint64
	edgeExp  int64

	// Keep neighbouring shards' locks on different cache lines.
	_ [64]byte
}

func (s *shard) init(capacity int) {
	s.capacity = capacity
	s.index = make(map[key]uint32)
	s.nodes = make([]node, 1, min(capacity+1, 16))
}

// insert adds an entry for a key that has none; the caller made room. It
// returns the entry's index.
func (s *shard) insert(k key, exp int64) uint32 {
	i := s.free
	if i != 0 {
		s.free = s.nodes[i].next
	} else {
		if len(s.nodes) == cap(s.nodes) {
			// Grow by hand so the nodes never take more than the
			// capacity's worth of memory.
			grown := make([]node, len(s.nodes), min(2*cap(s.nodes), s.capacity+1))
			copy(grown, s.nodes)
			s.nodes = grown
		}
		i = uint32(len(s.nodes))
		s.nodes = s.nodes[:i+1]
	}
	s.nodes[i] = node{key: k, exp: exp}
	s.index[k] = i
	s.file(i)
	return i
}

// refile gives an entry a new expiry and moves it to the matching bucket.
func (s *shard) refile(i uint32, exp int64) {
	s.unlink(i)
	n := &s.nodes[i]
	n.exp, n.committed = exp, false
	s.file(i)
}

// remove forgets an entry.
func (s *shard) remove(i uint32) {
	s.unlink(i)
	delete(s.index, s.nodes[i].key)
	s.nodes[i] = node{next: s.free}
	s.free = i
}

// file links node i into its bucket relative to the cursor. A tick below
// the cursor, which only a clock set back can produce, is filed at the
// cursor: later than due, never earlier.
func (s *shard) file(i uint32) {
	n := &s.nodes[i]
	t := max(tickOf(n.exp), s.cursor)
	level := 0
	if d := t ^ s.cursor; d >= slots {
		level = (bits.Len64(d) - 1) / slotBits
	}
	slot := t >> (level * slotBits) & (slots - 1)
	b := level*slots + int(slot)
	n.bucket, n.prev, n.next = uint16(b), 0, s.heads[b]
	if n.next != 0 {
		s.nodes[n.next].prev = i
	}
	s.heads[b] = i
	s.occupied[b/64] |= 1 << (b % 64)
	s.words |= 1 << (b / 64)
	if t == s.edgeTick {
		s.edgeExp = min(s.edgeExp, n.exp)
	}
}

// unlink takes node i out of its bucket's list.
func (s *shard) unlink(i uint32) {
	n := &s.nodes[i]
	if n.prev != 0 {
		s.nodes[n.prev].next = n.next
	} else {
		s.heads[n.bucket] = n.next
		if n.next == 0 {
			s.vacate(int(n.bucket))
		}
	}
	if n.next != 0 {
		s.nodes[n.next].prev = n.prev
	}
}

// vacate clears the occupied bit of bucket b.
func (s *shard) vacate(b int) {
	if s.occupied[b/64] &^= 1 << (b % 64); s.occupied[b/64] == 0 {
		s.words &^= 1 << (b / 64)
	}
}

// sweep does up to budget steps.
func (s *shard) sweep(nowTick uint64, budget int) {
	for range budget {
		if !s.step(nowTick) {
			return
		}
	}
}

// makeRoom reclaims expired entries until the shard is below capacity and
// reports whether it is. Beyond the buckets that have passed, it reclaims
// the entries of the current granule that expired, so that a full shard
// takes a new pair as soon as an entry expires rather than a granule later.
//
// A shard full of live entries is refused in O(1): one failed step reads a
// word per level, and the current granule is scanned only once now reaches
// the earliest expiry the last scan left in it (edgeExp). A scan therefore
// reclaims at least one entry, unless the entry it remembered was released
// or reserved again since.
func (s *shard) makeRoom(nowNs int64, nowTick uint64) bool {
	for len(s.index) >= s.capacity {
		if !s.step(nowTick) {
			return s.reclaimGranule(nowNs, nowTick)
		}
	}
	return true
}

// reclaimGranule reclaims the entries of the current granule that expired
// by nowNs, and remembers the earliest expiry left in it.
func (s *shard) reclaimGranule(nowNs int64, nowTick uint64) bool {
	// After a failed step the cursor is at now, and the current granule's
	// entries are in its level-0 bucket; a cursor ahead of now means the
	// clock was set back, and reclaiming late is safe.
	if s.cursor != nowTick || s.edgeTick == nowTick && nowNs < s.edgeExp {
		return false
	}
	earliest := int64(math.MaxInt64)
	for i := s.heads[nowTick&(slots-1)]; i != 0; {
		n := &s.nodes[i]
		next := n.next
		if n.exp <= nowNs {
			s.remove(i)
		} else {
			earliest = min(earliest, n.exp)
		}
		i = next
	}
	s.edgeTick, s.edgeExp = nowTick, earliest
	return len(s.index) < s.capacity
}

// step does one unit of the sweep toward nowTick, the tick of now: it
// files one entry of a cascading bucket again, or reclaims one entry of a
// level-0 bucket whose tick has fully passed, or starts cascading the
// earliest coarser bucket once the cursor can enter it. It reports false,
// having moved the cursor up to nowTick, when nothing is due.
//
// Every step is paid for by an entry's Reserve: an entry is filed again
// only at a lower level, so at most levels-1 times, and reclaimed once; a
// bucket starts cascading only when holding an entry that will be filed
// again. So the steps a Memory ever does are at most levels+1 per Reserve,
// O(1) amortized, and a step finds the earliest bucket in O(1) through
// the occupancy bitmaps.
func (s *shard) step(nowTick uint64) bool {
	if s.cascading != 0 {
		if i := s.heads[s.cascading-1]; i != 0 {
			s.unlink(i)
			s.file(i)
			return true
		}
		s.cascading = 0
	}
	if s.words != 0 {
		w := bits.TrailingZeros64(s.words)
		b := w*64 + bits.TrailingZeros64(s.occupied[w])
		level, slot := b/slots, uint64(b%slots)
		shift := level * slotBits
		first := s.cursor>>(shift+slotBits)<<(shift+slotBits) | slot<<shift
		switch {
		case level == 0 && first < nowTick:
			s.cursor = first
			s.remove(s.heads[b])
			return true
		case level > 0 && first <= nowTick:
			// A coarser bucket cascades as soon as the cursor can enter
			// it, even at now: from then on the cursor shares its digit.
			s.cursor = first
			s.vacate(b)
			s.cascading = b + 1
			return true
		}
	}
	// The earliest bucket has not passed, so no entry sits between the
	// cursor and now.
	s.cursor = max(s.cursor, nowTick)
	return false
}
