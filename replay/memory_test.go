package replay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/replaytest"
	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/replay"
)

func TestMemoryContract(t *testing.T) {
	for _, tt := range []struct {
		name     string
		capacity int
	}{
		{name: "one shard", capacity: 100},
		{name: "sharded", capacity: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			replaytest.Run(t, func(t *testing.T) replaytest.Harness {
				clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				m := replay.NewMemory(tt.capacity)
				replay.SetClock(m, clock.Now)
				return replaytest.Harness{Cache: m, Now: clock.Now, Advance: clock.Advance}
			})
		})
	}
}

// A full Memory forgets the pair expiring soonest, never more than its
// capacity, and sweeps expired pairs before it forgets a live one.
func TestMemoryBoundedEvictsSoonest(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := replay.NewMemory(3)
	replay.SetClock(m, clock.Now)
	now := clock.Now()
	record := func(jti string, until time.Time) {
		t.Helper()
		if err := m.Record(ctx, "iss", jti, until); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(jti string) bool {
		ok, _ := m.Seen(ctx, "iss", jti)
		return ok
	}
	record("late", now.Add(3*time.Minute))
	record("soon", now.Add(time.Minute))
	record("mid", now.Add(2*time.Minute))
	record("new", now.Add(4*time.Minute))
	if replay.Len(m) != 3 {
		t.Fatalf("Len %d, want 3", replay.Len(m))
	}
	for jti, want := range map[string]bool{"soon": false, "mid": true, "late": true, "new": true} {
		if seen(jti) != want {
			t.Errorf("seen(%s) = %v, want %v", jti, !want, want)
		}
	}
	clock.Advance(150 * time.Second) // mid expired
	record("after", now.Add(5*time.Minute))
	for jti, want := range map[string]bool{"mid": false, "late": true, "new": true, "after": true} {
		if seen(jti) != want {
			t.Errorf("after the sweep: seen(%s) = %v, want %v", jti, !want, want)
		}
	}
}

// The default capacity is split across 64 shards whose shares add up to
// it exactly: a shard forgets when its own share is full, so the cache
// holds DefaultCapacity pairs once every shard has filled (twice the
// capacity of new pairs fills each share with overwhelming probability),
// and never more.
func TestMemoryDefaultCapacity(t *testing.T) {
	m := replay.NewMemory(0)
	if n := replay.Shards(m); n != 64 {
		t.Errorf("%d shards, want 64", n)
	}
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	for i := range 2 * replay.DefaultCapacity {
		_ = m.Record(ctx, "iss", fmt.Sprint(i), until)
		if i == replay.DefaultCapacity/2 && replay.Len(m) != i+1 {
			t.Fatalf("half full: Len %d, want %d: a shard forgot before its share was full", replay.Len(m), i+1)
		}
	}
	if replay.Len(m) != replay.DefaultCapacity {
		t.Errorf("Len %d, want %d", replay.Len(m), replay.DefaultCapacity)
	}
}

// A cache smaller than two shards' minimum is one shard, so the pair it
// forgets is the soonest of all (TestMemoryBoundedEvictsSoonest); a larger
// one has a power of two of shards, at most 64, each of at least 1,024.
func TestMemoryShards(t *testing.T) {
	tests := []struct {
		capacity, want int
	}{
		{capacity: 1, want: 1},
		{capacity: 2047, want: 1},
		{capacity: 2048, want: 2},
		{capacity: 10_000, want: 8},
		{capacity: 65_536, want: 64},
		{capacity: 1 << 30, want: 64},
	}
	for _, tt := range tests {
		if got := replay.Shards(replay.NewMemory(tt.capacity)); got != tt.want {
			t.Errorf("NewMemory(%d): %d shards, want %d", tt.capacity, got, tt.want)
		}
	}
}

// A full shard forgets its own pair expiring soonest, even while another
// shard holds a pair expiring sooner: the price of a lock per shard.
func TestMemoryFullShardForgetsItsSoonest(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	const capacity = 2048 // two shards of 1,024
	m := replay.NewMemory(capacity)
	replay.SetClock(m, clock.Now)
	if replay.Shards(m) != 2 {
		t.Fatalf("%d shards, want 2", replay.Shards(m))
	}
	// jtis of shard 0, in order, and one of shard 1.
	var mine []string
	other := ""
	for i := 0; len(mine) < capacity/2+1 || other == ""; i++ {
		jti := fmt.Sprint("jti-", i)
		if replay.ShardOf(m, "iss", jti) == 0 {
			mine = append(mine, jti)
		} else if other == "" {
			other = jti
		}
	}
	now := clock.Now()
	record := func(jti string, until time.Time) {
		t.Helper()
		if err := m.Record(ctx, "iss", jti, until); err != nil {
			t.Fatal(err)
		}
	}
	record(other, now.Add(time.Second)) // the soonest of all, in shard 1
	for i, jti := range mine[:capacity/2] {
		record(jti, now.Add(time.Minute+time.Duration(i)*time.Second))
	}
	record(mine[capacity/2], now.Add(time.Hour)) // shard 0 is full
	for jti, want := range map[string]bool{other: true, mine[0]: false, mine[1]: true, mine[capacity/2]: true} {
		if ok, _ := m.Seen(ctx, "iss", jti); ok != want {
			t.Errorf("seen(%s) = %v, want %v", jti, ok, want)
		}
	}
	if replay.Len(m) != capacity/2+1 {
		t.Errorf("Len %d, want %d", replay.Len(m), capacity/2+1)
	}
}

// A pair recorded again with a later until is forgotten by that until,
// not the first one: neither the sweep nor a full cache's eviction
// takes the first record's place in the expiry order for the pair.
func TestMemoryRecordedAgainKeepsLaterUntil(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := replay.NewMemory(3)
	replay.SetClock(m, clock.Now)
	now := clock.Now()
	record := func(jti string, until time.Time) {
		t.Helper()
		if err := m.Record(ctx, "iss", jti, until); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(jti string) bool {
		ok, _ := m.Seen(ctx, "iss", jti)
		return ok
	}
	record("again", now.Add(time.Minute))
	record("again", now.Add(5*time.Minute))
	record("b", now.Add(2*time.Minute))
	record("c", now.Add(3*time.Minute))
	record("d", now.Add(4*time.Minute)) // full: b is the soonest live pair
	for jti, want := range map[string]bool{"again": true, "b": false, "c": true, "d": true} {
		if seen(jti) != want {
			t.Errorf("seen(%s) = %v, want %v", jti, !want, want)
		}
	}
	clock.Advance(4*time.Minute + time.Second) // c and d expired
	record("e", now.Add(10*time.Minute))       // sweeps them
	if !seen("again") {
		t.Error("the sweep forgot a pair recorded again with a later until")
	}
	if replay.Len(m) != 2 {
		t.Errorf("Len %d after the sweep, want 2 (again, e)", replay.Len(m))
	}
	clock.Advance(time.Minute) // again expired
	if seen("again") {
		t.Error("a pair is seen after its later until")
	}
}
