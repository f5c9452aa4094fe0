package replay_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/replay/internal/replaytest"
)

type clock = replaytest.Clock

func newClock() *clock { return replaytest.NewClock() }

func newMemory(t testing.TB, c *clock, opts ...replay.MemoryOption) *replay.Memory {
	t.Helper()
	m, err := replay.NewMemory(append([]replay.MemoryOption{replay.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	return m
}

// TestMemoryContract runs the contract every replay.Cache shares.
func TestMemoryContract(t *testing.T) {
	replaytest.Run(t, func(t *testing.T) replaytest.Harness {
		c := newClock()
		return replaytest.Harness{Cache: newMemory(t, c), Now: c.Now, Advance: c.Advance}
	})
}

func TestNewMemoryOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []replay.MemoryOption
		wantErr error
	}{
		{name: "defaults"},
		{name: "small capacity lowers default shards", opts: []replay.MemoryOption{replay.WithCapacity(3)}},
		{name: "one shard", opts: []replay.MemoryOption{replay.WithShards(1)}},
		{name: "zero capacity", opts: []replay.MemoryOption{replay.WithCapacity(0)}, wantErr: replay.ErrInvalidOption},
		{name: "negative capacity", opts: []replay.MemoryOption{replay.WithCapacity(-1)}, wantErr: replay.ErrInvalidOption},
		{name: "shards not a power of two", opts: []replay.MemoryOption{replay.WithShards(3)}, wantErr: replay.ErrInvalidOption},
		{name: "zero shards", opts: []replay.MemoryOption{replay.WithShards(0)}, wantErr: replay.ErrInvalidOption},
		{name: "explicit shards above capacity", opts: []replay.MemoryOption{replay.WithCapacity(4), replay.WithShards(8)}, wantErr: replay.ErrInvalidOption},
		{name: "nil clock", opts: []replay.MemoryOption{replay.WithClock(nil)}, wantErr: replay.ErrInvalidOption},
		{name: "nil option", opts: []replay.MemoryOption{replay.WithCapacity(5), nil}, wantErr: replay.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := replay.NewMemory(tt.opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewMemory error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && m == nil {
				t.Fatal("NewMemory returned nil without an error")
			}
		})
	}
}

// TestMemoryLifecycle walks one pair through the Cache contract.
func TestMemoryLifecycle(t *testing.T) {
	const iss, jti = "https://op.example", "jti-1"
	type step struct {
		op      string // reserve, commit, release, advance
		advance time.Duration
		until   time.Duration // for reserve, relative to the clock
		wantErr error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "reserve twice is a replay", steps: []step{
			{op: "reserve", until: time.Minute},
			{op: "reserve", until: time.Minute, wantErr: replay.ErrReplayed},
		}},
		{name: "committed is a replay", steps: []step{
			{op: "reserve", until: time.Minute},
			{op: "commit"},
			{op: "reserve", until: time.Minute, wantErr: replay.ErrReplayed},
		}},
		{name: "release lets the retry through", steps: []step{
			{op: "reserve", until: time.Minute},
			{op: "release"},
			{op: "reserve", until: time.Minute},
			{op: "reserve", until: time.Minute, wantErr: replay.ErrReplayed},
		}},
		{name: "release after commit is a no-op", steps: []step{
			{op: "reserve", until: time.Minute},
			{op: "commit"},
			{op: "release"},
			{op: "reserve", until: time.Minute, wantErr: replay.ErrReplayed},
		}},
		{name: "commit of an unknown pair is reported lost, release is a no-op", steps: []step{
			{op: "commit", wantErr: replay.ErrReservationLost},
			{op: "release"},
			{op: "reserve", until: time.Minute},
		}},
		{name: "expired committed entry is reused", steps: []step{
			{op: "reserve", until: time.Minute},
			{op: "commit"},
			{op: "advance", advance: time.Minute},
			{op: "reserve", until: time.Minute},
			{op: "reserve", until: time.Minute, wantErr: replay.ErrReplayed},
		}},
		{name: "still live one nanosecond before until", steps: []step{
			{op: "reserve", until: time.Minute},
			{op: "advance", advance: time.Minute - time.Nanosecond},
			{op: "reserve", until: time.Minute, wantErr: replay.ErrReplayed},
		}},
		{name: "commit after expiry does not revive", steps: []step{
			{op: "reserve", until: time.Minute},
			{op: "advance", advance: 2 * time.Minute},
			{op: "commit", wantErr: replay.ErrReservationLost},
			{op: "reserve", until: time.Minute},
		}},
		{name: "until now is refused", steps: []step{
			{op: "reserve", until: 0, wantErr: replay.ErrExpired},
			{op: "reserve", until: time.Minute},
		}},
		{name: "until in the past is refused", steps: []step{
			{op: "reserve", until: -time.Second, wantErr: replay.ErrExpired},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			m := newMemory(t, c)
			p := replay.NewPairCache(m)
			ctx := context.Background()
			for i, s := range tt.steps {
				var err error
				switch s.op {
				case "reserve":
					err = p.Reserve(ctx, iss, jti, c.Now().Add(s.until))
				case "commit":
					err = p.Commit(ctx, iss, jti)
				case "release":
					err = p.Release(ctx, iss, jti)
				case "advance":
					c.Advance(s.advance)
				}
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d (%s): error = %v, want %v", i, s.op, err, s.wantErr)
				}
			}
		})
	}
}

func TestMemoryReplayCaughtAfterManyOthers(t *testing.T) {
	c := newClock()
	m := newMemory(t, c)
	p := replay.NewPairCache(m)
	ctx := context.Background()
	until := c.Now().Add(5 * time.Minute)
	const iss = "https://op.example"
	if err := p.Reserve(ctx, iss, "first", until); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx, iss, "first"); err != nil {
		t.Fatal(err)
	}
	for i := range 10_000 {
		jti := fmt.Sprintf("other-%d", i)
		if err := p.Reserve(ctx, iss, jti, until); err != nil {
			t.Fatalf("Reserve(%s): %v", jti, err)
		}
		if err := p.Commit(ctx, iss, jti); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Reserve(ctx, iss, "first", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("replay of the first token: error = %v, want %v", err, replay.ErrReplayed)
	}
}

func TestMemoryPairsAreDistinct(t *testing.T) {
	tests := []struct {
		name       string
		iss1, jti1 string
		iss2, jti2 string
		wantErr    error
	}{
		{name: "same pair", iss1: "a", jti1: "b", iss2: "a", jti2: "b", wantErr: replay.ErrReplayed},
		{name: "same jti, other issuer", iss1: "https://op1", jti1: "x", iss2: "https://op2", jti2: "x"},
		{name: "boundary moved", iss1: "ab", jti1: "c", iss2: "a", jti2: "bc"},
		{name: "empty issuer", iss1: "", jti1: "ab", iss2: "a", jti2: "b"},
		{name: "empty jti", iss1: "ab", jti1: "", iss2: "a", jti2: "b"},
		{name: "swapped", iss1: "a", jti1: "b", iss2: "b", jti2: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			m := newMemory(t, c)
			p := replay.NewPairCache(m)
			ctx := context.Background()
			until := c.Now().Add(time.Minute)
			if err := p.Reserve(ctx, tt.iss1, tt.jti1, until); err != nil {
				t.Fatal(err)
			}
			if err := p.Reserve(ctx, tt.iss2, tt.jti2, until); !errors.Is(err, tt.wantErr) {
				t.Fatalf("second Reserve error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMemoryFullFailsClosed(t *testing.T) {
	c := newClock()
	m := newMemory(t, c, replay.WithCapacity(4), replay.WithShards(1))
	p := replay.NewPairCache(m)
	ctx := context.Background()
	for i := range 4 {
		// Staggered expiries: the shard frees up only as each one passes.
		until := c.Now().Add(time.Duration(i+1) * time.Minute)
		if err := p.Reserve(ctx, "iss", fmt.Sprint(i), until); err != nil {
			t.Fatal(err)
		}
	}
	later := c.Now().Add(time.Hour)
	if err := p.Reserve(ctx, "iss", "new", later); !errors.Is(err, replay.ErrFull) {
		t.Fatalf("Reserve on a full cache: error = %v, want %v", err, replay.ErrFull)
	}
	if err := p.Reserve(ctx, "iss", "new2", later); !errors.Is(err, replay.ErrFull) {
		t.Fatalf("Reserve on a full cache: error = %v, want %v", err, replay.ErrFull)
	}
	if got := m.Rejected(); got != 2 {
		t.Fatalf("Rejected = %d, want 2", got)
	}
	// A live entry was not forgotten to make room.
	if err := p.Reserve(ctx, "iss", "3", later); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("live entry: error = %v, want %v", err, replay.ErrReplayed)
	}
	c.Advance(time.Minute) // "0" expires
	if err := p.Reserve(ctx, "iss", "new", later); err != nil {
		t.Fatalf("Reserve after an expiry: %v", err)
	}
	if err := p.Reserve(ctx, "iss", "new2", later); !errors.Is(err, replay.ErrFull) {
		t.Fatalf("Reserve on a full cache again: error = %v, want %v", err, replay.ErrFull)
	}
	if got := m.Len(); got != 4 {
		t.Fatalf("Len = %d, want 4", got)
	}
	if got := m.Rejected(); got != 3 {
		t.Fatalf("Rejected = %d, want 3", got)
	}
	// A released reservation frees its room at once.
	if err := p.Release(ctx, "iss", "new"); err != nil {
		t.Fatal(err)
	}
	if err := p.Reserve(ctx, "iss", "new2", later); err != nil {
		t.Fatalf("Reserve after a release: %v", err)
	}
}

// TestMemoryFullReclaimsToTheNanosecond checks that a full shard keeps an
// entry until its very until, and takes a new pair right after.
func TestMemoryFullReclaimsToTheNanosecond(t *testing.T) {
	c := newClock()
	m := newMemory(t, c, replay.WithCapacity(1))
	p := replay.NewPairCache(m)
	ctx := context.Background()
	until := c.Now().Add(5*time.Minute + 123*time.Nanosecond)
	if err := p.Reserve(ctx, "iss", "old", until); err != nil {
		t.Fatal(err)
	}
	c.Advance(5*time.Minute + 122*time.Nanosecond)
	if err := p.Reserve(ctx, "iss", "new", until.Add(time.Minute)); !errors.Is(err, replay.ErrFull) {
		t.Fatalf("Reserve one nanosecond before the until: error = %v, want %v", err, replay.ErrFull)
	}
	if err := p.Reserve(ctx, "iss", "old", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("replay one nanosecond before the until: error = %v, want %v", err, replay.ErrReplayed)
	}
	c.Advance(time.Nanosecond)
	if err := p.Reserve(ctx, "iss", "new", until.Add(time.Minute)); err != nil {
		t.Fatalf("Reserve at the until: %v", err)
	}
}

// TestMemoryCapacityIsABound checks that the shards together never hold
// more than the capacity, and that every refusal is counted.
func TestMemoryCapacityIsABound(t *testing.T) {
	c := newClock()
	const capacity = 100
	m := newMemory(t, c, replay.WithCapacity(capacity), replay.WithShards(8))
	p := replay.NewPairCache(m)
	ctx := context.Background()
	until := c.Now().Add(time.Hour)
	var ok, full uint64
	for i := range 1000 {
		switch err := p.Reserve(ctx, "iss", fmt.Sprint(i), until); {
		case err == nil:
			ok++
		case errors.Is(err, replay.ErrFull):
			full++
		default:
			t.Fatalf("Reserve: %v", err)
		}
	}
	if ok != capacity {
		t.Errorf("accepted %d, want exactly the capacity %d", ok, capacity)
	}
	if got := m.Len(); got != capacity {
		t.Errorf("Len = %d, want %d", got, capacity)
	}
	if got := m.Rejected(); got != full {
		t.Errorf("Rejected = %d, want %d", got, full)
	}
	c.Advance(time.Hour)
	// Everything expired: any capacity/shards fresh pairs fit, whichever
	// shards they hash to (the smallest shard holds capacity/shards).
	// More is not guaranteed: pairs re-reserved here are live again, and
	// a shard they fill rightly refuses the next one.
	for i := range capacity / 8 {
		if err := p.Reserve(ctx, "iss", fmt.Sprint("fresh-", i), c.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Reserve after expiry: %v", err)
		}
	}
}

func TestMemoryConcurrentReserveOneWins(t *testing.T) {
	c := newClock()
	m := newMemory(t, c)
	until := c.Now().Add(time.Minute)
	const n = 100
	errs := make(chan error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			_, err := m.Reserve(context.Background(), "iss", "same", until)
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, replay.ErrReplayed):
			t.Errorf("Reserve: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d goroutines won the reservation, want exactly 1", won)
	}
}

// TestMemoryBytesPerEntry measures the heap cost of a full default Memory.
func TestMemoryBytesPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100k entries")
	}
	const n = replay.DefaultCapacity
	// Build the pairs first so that only the Memory is measured.
	jtis := make([]string, n)
	for i := range jtis {
		jtis[i] = fmt.Sprintf("%032x", i)
	}
	c := newClock()
	until := c.Now().Add(time.Hour)
	ctx := context.Background()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := newMemory(t, c)
	p := replay.NewPairCache(m)
	for _, jti := range jtis {
		if err := p.Reserve(ctx, "https://op.example", jti, until); err != nil {
			// A shard fills a little before the whole: stop there.
			if errors.Is(err, replay.ErrFull) {
				continue
			}
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := m.Len()
	// Both must survive the second GC, or freeing the pairs would hide
	// the Memory's own cost.
	runtime.KeepAlive(m)
	runtime.KeepAlive(jtis)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / float64(held)
	t.Logf("%d entries, %.1f bytes per entry", held, perEntry)
	if perEntry > 150 {
		t.Fatalf("%.1f bytes per entry, want at most 150", perEntry)
	}
}

// FuzzMemoryPairs checks that two different pairs never block each other
// and that a pair always blocks itself.
func FuzzMemoryPairs(f *testing.F) {
	f.Add("ab", "c", "a", "bc")
	f.Add("https://op.example", "jti", "https://op.example", "jti")
	f.Add("", "", "", "x")
	f.Fuzz(func(t *testing.T, iss1, jti1, iss2, jti2 string) {
		c := newClock()
		m := newMemory(t, c, replay.WithCapacity(2))
		p := replay.NewPairCache(m)
		ctx := context.Background()
		until := c.Now().Add(time.Minute)
		if err := p.Reserve(ctx, iss1, jti1, until); err != nil {
			t.Fatal(err)
		}
		err := p.Reserve(ctx, iss2, jti2, until)
		same := iss1 == iss2 && jti1 == jti2
		if same && !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("same pair: error = %v, want %v", err, replay.ErrReplayed)
		}
		if !same && err != nil && !errors.Is(err, replay.ErrFull) {
			t.Fatalf("different pairs: error = %v", err)
		}
	})
}
