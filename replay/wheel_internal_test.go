package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const granule = time.Duration(1) << granuleShift

// check verifies a shard's structure: every entry is in exactly one
// bucket list, the lists and occupancy bits agree, no entry sits in a
// bucket that ends before its own tick (it would be forgotten early), the
// buckets respect the wheel's order relative to the cursor, and the nodes
// never exceed the capacity. With exact, which holds while the clock never
// goes back, every entry is also in the bucket of its own tick and the
// cursor is not ahead of now.
func (s *shard) check(nowTick uint64, exact bool) error {
	seen := 0
	for b := range buckets {
		level, slot := b/slots, uint64(b%slots)
		cascading := b+1 == s.cascading
		bit := s.occupied[b/64]>>(b%64)&1 == 1
		switch {
		case cascading && bit:
			return fmt.Errorf("cascading bucket %d is marked occupied", b)
		case !cascading && bit != (s.heads[b] != 0):
			return fmt.Errorf("bucket %d: occupied bit %v, head %d", b, bit, s.heads[b])
		case cascading && level == 0:
			return fmt.Errorf("level-0 bucket %d is cascading", b)
		}
		shift := level * slotBits
		digit := s.cursor >> shift & (slots - 1)
		if s.heads[b] != 0 && !cascading && (slot < digit || level > 0 && slot == digit) {
			return fmt.Errorf("bucket %d is behind the cursor %d", b, s.cursor)
		}
		first := s.cursor>>(shift+slotBits)<<(shift+slotBits) | slot<<shift
		last := first + 1<<shift - 1
		var prev uint32
		for i := s.heads[b]; i != 0; i = s.nodes[i].next {
			n := &s.nodes[i]
			if n.prev != prev || int(n.bucket) != b {
				return fmt.Errorf("node %d in bucket %d: prev %d (want %d), bucket %d", i, b, n.prev, prev, n.bucket)
			}
			if j, ok := s.index[n.key]; !ok || j != i {
				return fmt.Errorf("node %d in bucket %d is not indexed (index %d, %v)", i, b, j, ok)
			}
			t := tickOf(n.exp)
			if t > last {
				return fmt.Errorf("node %d (tick %d) in bucket %d, which ends at tick %d: it would be forgotten early", i, t, b, last)
			}
			if exact && t < first {
				return fmt.Errorf("node %d (tick %d) in bucket %d, which starts at tick %d", i, t, b, first)
			}
			prev = i
			if seen++; seen > len(s.nodes) {
				return fmt.Errorf("bucket %d: list loops", b)
			}
		}
	}
	if seen != len(s.index) {
		return fmt.Errorf("%d nodes in buckets, %d indexed", seen, len(s.index))
	}
	free := 0
	for i := s.free; i != 0; i = s.nodes[i].next {
		if free++; free > len(s.nodes) {
			return errors.New("free list loops")
		}
	}
	if seen+free != len(s.nodes)-1 {
		return fmt.Errorf("%d nodes in buckets and %d free, of %d", seen, free, len(s.nodes)-1)
	}
	for w, word := range s.occupied {
		if (word != 0) != (s.words>>w&1 == 1) {
			return fmt.Errorf("occupancy word %d is %#x, but its summary bit is %d", w, word, s.words>>w&1)
		}
	}
	if len(s.index) > s.capacity || cap(s.nodes) > s.capacity+1 {
		return fmt.Errorf("%d entries and room for %d nodes, capacity %d", len(s.index), cap(s.nodes)-1, s.capacity)
	}
	if exact && s.cursor > nowTick {
		return fmt.Errorf("cursor %d is ahead of now %d", s.cursor, nowTick)
	}
	return nil
}

func (m *Memory) check(now time.Time, exact bool) error {
	for i := range m.shards {
		if err := m.shards[i].check(tickOf(now.UnixNano()), exact); err != nil {
			return fmt.Errorf("shard %d: %w", i, err)
		}
	}
	return nil
}

func TestTickOfKeepsOrder(t *testing.T) {
	ns := []int64{math.MinInt64, -1 << 40, -int64(granule), -1, 0, 1, int64(granule) - 1, int64(granule), 1 << 40, math.MaxInt64}
	for i := 1; i < len(ns); i++ {
		a, b := tickOf(ns[i-1]), tickOf(ns[i])
		if a > b {
			t.Errorf("tickOf(%d) = %d > tickOf(%d) = %d", ns[i-1], a, ns[i], b)
		}
		if b>>tickBits != 0 {
			t.Errorf("tickOf(%d) = %d has more than %d bits", ns[i], b, tickBits)
		}
	}
	if tickOf(0) == tickOf(-1) || tickOf(int64(granule)-1) != tickOf(0) {
		t.Error("a tick must be one granule, starting at a multiple of it")
	}
}

// TestShardNodesStayBounded releases and reserves the same pairs over and
// over, and reuses expired ones: the nodes are recycled, never more than
// the capacity.
func TestShardNodesStayBounded(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m, err := NewMemory(WithCapacity(8), WithShards(1), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPairCache(m)
	ctx := context.Background()
	s := &m.shards[0]
	for i := range 1000 {
		jti := fmt.Sprint(i % 8)
		if err := p.Reserve(ctx, "iss", jti, now.Add(time.Minute)); err != nil {
			t.Fatalf("Reserve %d: %v", i, err)
		}
		if i%3 == 0 {
			now = now.Add(time.Minute) // every entry expires and is reused
		} else if err := p.Release(ctx, "iss", jti); err != nil {
			t.Fatal(err)
		}
		if err := m.check(now, true); err != nil {
			t.Fatalf("after %d: %v", i, err)
		}
		if got, limit := len(s.nodes)-1, s.capacity; got > limit {
			t.Fatalf("%d nodes, want at most %d", got, limit)
		}
	}
}

// TestFullShardRefusalIsO1 fills a shard with live entries and checks that
// refusing another touches nothing: no entry is moved or reclaimed.
func TestFullShardRefusalIsO1(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m, err := NewMemory(WithCapacity(1000), WithShards(1), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPairCache(m)
	ctx := context.Background()
	for i := range 1000 {
		// Spread over every level, so a scan would have much to move.
		until := now.Add(granule << (i % 40))
		if err := p.Reserve(ctx, "iss", fmt.Sprint(i), until); err != nil {
			t.Fatal(err)
		}
	}
	s := &m.shards[0]
	// Let the sweep settle, then take a snapshot.
	s.sweep(tickOf(now.UnixNano()), math.MaxInt)
	cursor, heads, occupied, words, cascading := s.cursor, s.heads, s.occupied, s.words, s.cascading
	beforeNodes := append([]node(nil), s.nodes...)
	if err := p.Reserve(ctx, "iss", "new", now.Add(time.Hour)); !errors.Is(err, ErrFull) {
		t.Fatalf("Reserve = %v, want %v", err, ErrFull)
	}
	if s.cursor != cursor || s.heads != heads || s.occupied != occupied || s.words != words || s.cascading != cascading {
		t.Fatal("refusing a full shard changed its wheel")
	}
	for i := range beforeNodes {
		if s.nodes[i] != beforeNodes[i] {
			t.Fatalf("refusing a full shard changed node %d", i)
		}
	}
}

// TestWheelOracle runs random operations and clock advances against a
// plain map model of the contract. Replays are caught exactly (the
// entry's own until decides, not its bucket); a Reserve must succeed when
// the shard holds fewer than capacity live entries, and must fail with
// ErrFull when it holds at least capacity of them (a full shard reclaims
// at once, to the nanosecond); and after a full sweep the shard holds all
// its live entries and none whose granule has fully passed, so expired
// ones are reclaimed within one granule and live ones never.
func TestWheelOracle(t *testing.T) {
	configs := []struct{ capacity, shards, jtis int }{
		{capacity: 1, shards: 1, jtis: 3},
		{capacity: 5, shards: 1, jtis: 12},
		{capacity: 24, shards: 2, jtis: 60},
		{capacity: 64, shards: 4, jtis: 100},
	}
	for _, cfg := range configs {
		for seed := range uint64(8) {
			t.Run(fmt.Sprintf("capacity=%d/shards=%d/seed=%d", cfg.capacity, cfg.shards, seed), func(t *testing.T) {
				runOracle(t, seed, cfg.capacity, cfg.shards, cfg.jtis, 3000)
			})
		}
	}
}

type modelEntry struct {
	exp       int64
	committed bool
}

// randDuration spreads durations over every level of the wheel, with a
// bias toward the granule and the minutes that tokens live.
func randDuration(r *rand.Rand) time.Duration {
	switch r.IntN(7) {
	case 0:
		return time.Duration(r.Int64N(int64(2 * granule)))
	case 1:
		return time.Duration(r.Int64N(int64(200 * granule)))
	case 2:
		return time.Duration(r.Int64N(int64(10 * time.Second)))
	case 3, 4:
		return time.Duration(r.Int64N(int64(10 * time.Minute)))
	case 5:
		return time.Duration(r.Int64N(int64(48 * time.Hour)))
	default:
		return granule << r.IntN(40)
	}
}

func runOracle(t *testing.T, seed uint64, capacity, shards, njtis, ops int) {
	r := rand.New(rand.NewPCG(seed, uint64(capacity)<<32|uint64(shards)))
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(time.Hour))))
	m, err := NewMemory(WithCapacity(capacity), WithShards(shards), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPairCache(m)
	ctx := context.Background()
	model := make(map[string]modelEntry)
	shardByJTI := make(map[string]int, njtis)
	for i := range njtis {
		jti := fmt.Sprint(i)
		shardByJTI[jti] = int(m.key("iss", jti)[0] & m.mask)
	}
	shardOf := func(jti string) int { return shardByJTI[jti] }
	// count counts the model's entries in a shard (-1 for all) that
	// expire after the given time, leaving one pair out.
	count := func(shard int, except string, after int64) int {
		n := 0
		for jti, e := range model {
			if jti != except && (shard < 0 || shardOf(jti) == shard) && e.exp > after {
				n++
			}
		}
		return n
	}
	// The entries whose granule has not fully passed yet expire at or
	// after the granule's start.
	granuleStart := func() int64 { return now.UnixNano()>>granuleShift<<granuleShift - 1 }
	var rejected uint64
	for op := range ops {
		jti := fmt.Sprint(r.IntN(njtis))
		nowNs := now.UnixNano()
		e, present := model[jti]
		var what string
		switch k := r.IntN(20); {
		case k < 10:
			d := randDuration(r)
			if r.IntN(20) == 0 {
				d = -d
			}
			what = fmt.Sprintf("Reserve(%s, now%+v)", jti, d)
			err := p.Reserve(ctx, "iss", jti, now.Add(d))
			sh := shardOf(jti)
			shardCap := m.shards[sh].capacity
			live := count(sh, jti, nowNs)
			switch {
			case d <= 0:
				if !errors.Is(err, ErrExpired) {
					t.Fatalf("op %d %s = %v, want %v", op, what, err, ErrExpired)
				}
			case present && e.exp > nowNs:
				if !errors.Is(err, ErrReplayed) {
					t.Fatalf("op %d %s = %v, want %v (until in %v)", op, what, err, ErrReplayed, time.Duration(e.exp-nowNs))
				}
			case live < shardCap:
				if err != nil {
					t.Fatalf("op %d %s = %v with %d live entries in a shard of %d", op, what, err, live, shardCap)
				}
			case !present:
				if !errors.Is(err, ErrFull) {
					t.Fatalf("op %d %s = %v, want %v with %d live entries in a shard of %d", op, what, err, ErrFull, live, shardCap)
				}
			default:
				// The pair's old entry expired: reused if it was not
				// reclaimed yet, refused otherwise.
				if err != nil && !errors.Is(err, ErrFull) {
					t.Fatalf("op %d %s = %v", op, what, err)
				}
			}
			switch {
			case err == nil:
				model[jti] = modelEntry{exp: now.Add(d).UnixNano()}
			case errors.Is(err, ErrFull):
				rejected++
			}
		case k < 13:
			what = fmt.Sprintf("Commit(%s)", jti)
			if err := p.Commit(ctx, "iss", jti); err != nil && !errors.Is(err, ErrReservationLost) {
				t.Fatal(err)
			}
			if present && e.exp > nowNs {
				e.committed = true
				model[jti] = e
			}
		case k < 15:
			what = fmt.Sprintf("Release(%s)", jti)
			if err := p.Release(ctx, "iss", jti); err != nil {
				t.Fatal(err)
			}
			if present && !e.committed {
				delete(model, jti)
			}
		case k < 19:
			d := randDuration(r)
			if r.IntN(100) == 0 {
				d = time.Duration(r.Int64N(int64(2 * 365 * 24 * time.Hour)))
			}
			what = fmt.Sprintf("advance %v", d)
			now = now.Add(d)
		default:
			what = "full sweep"
			nowTick := tickOf(now.UnixNano())
			for i := range m.shards {
				s := &m.shards[i]
				s.sweep(nowTick, math.MaxInt)
				lo, hi := count(i, "", now.UnixNano()), count(i, "", granuleStart())
				if got := len(s.index); got < lo || got > hi {
					t.Fatalf("op %d %s: shard %d holds %d entries, want between %d live and %d of this granule", op, what, i, got, lo, hi)
				}
			}
		}
		// The structure check reads every bucket: every few operations
		// is enough, and keeps the race detector's run short.
		if op%4 == 0 {
			if err := m.check(now, true); err != nil {
				t.Fatalf("op %d %s: %v", op, what, err)
			}
		}
		if got := m.Rejected(); got != rejected {
			t.Fatalf("op %d %s: Rejected = %d, want %d", op, what, got, rejected)
		}
		if got, live := m.Len(), count(-1, "", now.UnixNano()); got < live || got > len(model) {
			t.Fatalf("op %d %s: Len = %d, want between %d and %d", op, what, got, live, len(model))
		}
	}
}

// TestWheelClockSetBack moves the clock back and forth: the structure stays
// sound, entries are only ever filed late, and the capacity holds.
func TestWheelClockSetBack(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m, err := NewMemory(WithCapacity(16), WithShards(1), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPairCache(m)
	ctx := context.Background()
	for op := range 5000 {
		jti := fmt.Sprint(r.IntN(40))
		switch r.IntN(4) {
		case 0, 1:
			err := p.Reserve(ctx, "iss", jti, now.Add(randDuration(r)+1))
			if err != nil && !errors.Is(err, ErrReplayed) && !errors.Is(err, ErrFull) {
				t.Fatalf("op %d: Reserve = %v", op, err)
			}
		case 2:
			_ = p.Release(ctx, "iss", jti)
		default:
			d := randDuration(r)
			if r.IntN(2) == 0 {
				d = -d
			}
			now = now.Add(d)
		}
		if err := m.check(now, false); err != nil {
			t.Fatalf("op %d: %v", op, err)
		}
	}
	// Once the clock is past everything, all of it is reclaimed.
	now = now.Add(100 * 365 * 24 * time.Hour)
	s := &m.shards[0]
	s.sweep(tickOf(now.UnixNano()), math.MaxInt)
	if len(s.index) != 0 {
		t.Fatalf("%d entries left after every until passed", len(s.index))
	}
}

// TestFullShardSeesNewExpiriesInTheGranule checks that an entry filed in
// the current granule after a scan, expiring before what the scan
// remembered, is still reclaimed on time by a full shard.
func TestFullShardSeesNewExpiriesInTheGranule(t *testing.T) {
	start := time.Unix(0, time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano()>>granuleShift<<granuleShift)
	now := start
	m, err := NewMemory(WithCapacity(2), WithShards(1), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPairCache(m)
	ctx := context.Background()
	steps := []struct {
		op      string
		jti     string
		at      time.Duration // the clock, from the granule's start
		until   time.Duration // from the granule's start
		wantErr error
	}{
		{op: "reserve", jti: "a", until: 900 * time.Microsecond},
		{op: "reserve", jti: "b", until: time.Hour},
		// Scans the granule: the earliest expiry left in it is a's.
		{op: "reserve", jti: "c", until: time.Hour, wantErr: ErrFull},
		{op: "release", jti: "b"},
		{op: "reserve", jti: "d", until: 100 * time.Microsecond},
		{op: "reserve", jti: "c", at: 100*time.Microsecond - 1, until: time.Hour, wantErr: ErrFull},
		// d expired, a not yet: c takes d's room.
		{op: "reserve", jti: "c", at: 200 * time.Microsecond, until: time.Hour},
		{op: "reserve", jti: "d", at: 200 * time.Microsecond, until: time.Hour, wantErr: ErrFull},
		{op: "reserve", jti: "a", at: 200 * time.Microsecond, until: time.Hour, wantErr: ErrReplayed},
	}
	for i, st := range steps {
		now = start.Add(st.at)
		var err error
		switch st.op {
		case "reserve":
			err = p.Reserve(ctx, "iss", st.jti, start.Add(st.until))
		case "release":
			err = p.Release(ctx, "iss", st.jti)
		}
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("step %d: %s(%s) = %v, want %v", i, st.op, st.jti, err, st.wantErr)
		}
		if err := m.check(now, true); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}
