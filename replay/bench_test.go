package replay_test

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/replay"
)

// benchJTIs returns distinct token IDs built before the timer starts, so
// that the benchmark measures Reserve and not the building of strings.
func benchJTIs(n int) []string {
	jtis := make([]string, n)
	for i := range jtis {
		jtis[i] = fmt.Sprintf("%08x-1b4e-4f5a-9c1d-%012x", rand.Uint32(), i)
	}
	return jtis
}

// BenchmarkMemoryReserve reserves distinct pairs from every CPU against a
// default Memory in its steady state: pairs live 2ms, so entries keep
// expiring and being reclaimed while new ones arrive, as in a long-running
// RP. The until is refreshed every 64 reservations to keep a clock read out
// of the loop. refused/op counts the rare ErrExpired a descheduled
// goroutine meets when its until went stale; it should stay near zero, and
// full/op, the ErrFull among them, at zero.
func BenchmarkMemoryReserve(b *testing.B) {
	m, err := replay.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	jtis := benchJTIs(1 << 18)
	const iss = "https://op.example"
	ctx := context.Background()
	var refused atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(jtis))
		var until time.Time
		var bad uint64
		for n := 0; pb.Next(); n++ {
			if n%64 == 0 {
				until = time.Now().Add(2 * time.Millisecond)
			}
			if _, err := m.Reserve(ctx, iss, jtis[i], until); err != nil {
				bad++
			}
			if i++; i == len(jtis) {
				i = 0
			}
		}
		refused.Add(bad)
	})
	b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
	b.ReportMetric(float64(m.Rejected())/float64(b.N), "full/op")
}

// BenchmarkMemoryReserveReplayed measures the answer to a replay, the path
// an attacker resending a captured token would hit.
func BenchmarkMemoryReserveReplayed(b *testing.B) {
	m, err := replay.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	const iss, jti = "https://op.example", "6f1c2b4e-1b4e-4f5a-9c1d-2a7e3c9b8d10"
	if _, err := m.Reserve(ctx, iss, jti, until); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Reserve(ctx, iss, jti, until); err == nil {
				b.Error("replay accepted")
			}
		}
	})
}

// BenchmarkBaselineShardedMap is the raw operation under Reserve: a clock
// read, two maphash hashes and an insert into a mutex-guarded map picked by
// hash, and its delete, as reclaiming would. Reserve's extra cost over it
// is the lookup, the timing wheel and the bookkeeping.
func BenchmarkBaselineShardedMap(b *testing.B) {
	type shard struct {
		mu sync.Mutex
		m  map[[2]uint64]int64
		_  [64]byte
	}
	shards := make([]shard, replay.DefaultShards)
	for i := range shards {
		shards[i].m = make(map[[2]uint64]int64)
	}
	seedA, seedB := maphash.MakeSeed(), maphash.MakeSeed()
	jtis := benchJTIs(1 << 18)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(jtis))
		for pb.Next() {
			now := time.Now().UnixNano()
			k := [2]uint64{maphash.String(seedA, jtis[i]), maphash.String(seedB, jtis[i])}
			s := &shards[k[0]%uint64(len(shards))]
			s.mu.Lock()
			s.m[k] = now
			delete(s.m, k)
			s.mu.Unlock()
			if i++; i == len(jtis) {
				i = 0
			}
		}
	})
}

// BenchmarkMemoryReserveFull measures the refusal of a pair by a shard
// full of live entries, the path a flood of fresh tokens would hit. Half of
// the entries expire later in the current granule, the rest in an hour:
// the refusal must cost the same whatever the number of entries.
func BenchmarkMemoryReserveFull(b *testing.B) {
	// A frozen clock at the start of a granule (a multiple of 2²⁰ ns).
	now := time.Unix(0, 1<<40)
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			m, err := replay.NewMemory(replay.WithCapacity(n), replay.WithShards(1), replay.WithClock(func() time.Time { return now }))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for i, jti := range benchJTIs(n) {
				until := now.Add(time.Hour)
				if i%2 == 0 {
					until = now.Add(time.Duration(1+i%1000) * 500 * time.Nanosecond)
				}
				if _, err := m.Reserve(ctx, "https://op.example", jti, until); err != nil {
					b.Fatal(err)
				}
			}
			const iss, jti = "https://op.example", "6f1c2b4e-1b4e-4f5a-9c1d-2a7e3c9b8d10"
			until := now.Add(time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.Reserve(ctx, iss, jti, until); err == nil {
					b.Fatal("a full Memory took a pair")
				}
			}
		})
	}
}

// BenchmarkMemoryReserveLongLived reserves pairs that live six minutes, as
// logout tokens do, against a default Memory held near 90% of its capacity
// by a clock that moves 4 ms per reservation: the entries cross every
// coarse level of the wheel before they are reclaimed.
func BenchmarkMemoryReserveLongLived(b *testing.B) {
	var nowNs atomic.Int64
	nowNs.Store(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	m, err := replay.NewMemory(replay.WithClock(func() time.Time { return time.Unix(0, nowNs.Load()) }))
	if err != nil {
		b.Fatal(err)
	}
	jtis := benchJTIs(1 << 18)
	const iss = "https://op.example"
	ctx := context.Background()
	// Fill to the steady state first.
	i := 0
	for range 90_000 {
		now := nowNs.Add(int64(4 * time.Millisecond))
		_, _ = m.Reserve(ctx, iss, jtis[i], time.Unix(0, now).Add(6*time.Minute))
		i = (i + 1) % len(jtis)
	}
	var refused int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now := nowNs.Add(int64(4 * time.Millisecond))
		if _, err := m.Reserve(ctx, iss, jtis[i], time.Unix(0, now).Add(6*time.Minute)); err != nil {
			refused++
		}
		i = (i + 1) % len(jtis)
	}
	b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
	b.ReportMetric(float64(m.Len()), "entries")
}
