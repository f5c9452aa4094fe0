package replay_test

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/replay"
)

// benchJTIs returns distinct token IDs built before the timer starts.
func benchJTIs(n int) []string {
	jtis := make([]string, n)
	for i := range jtis {
		jtis[i] = fmt.Sprintf("%08x-1b4e-4f5a-9c1d-%012x", rand.Uint32(), i)
	}
	return jtis
}

// BenchmarkMemoryRecord records distinct pairs from every CPU into a
// default Memory in its steady state: pairs live 2 ms, so entries keep
// expiring and being swept while new ones arrive, as in a long-running RP.
// Read it beside BenchmarkBaselineShardedMap.
func BenchmarkMemoryRecord(b *testing.B) {
	m := replay.NewMemory(0)
	jtis := benchJTIs(1 << 18)
	const iss = "https://op.example"
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(jtis))
		var until time.Time
		for n := 0; pb.Next(); n++ {
			if n%64 == 0 {
				until = time.Now().Add(2 * time.Millisecond)
			}
			_ = m.Record(ctx, iss, jtis[i], until)
			if i++; i == len(jtis) {
				i = 0
			}
		}
	})
}

// BenchmarkBaselineShardedMap is the raw operation under Record: hash the
// pair and store it in a map of 64 locked shards, without expiry or bound.
func BenchmarkBaselineShardedMap(b *testing.B) {
	type shard struct {
		mu sync.Mutex
		m  map[uint64]int64
	}
	shards := make([]shard, 64)
	for i := range shards {
		shards[i].m = make(map[uint64]int64)
	}
	seed := maphash.MakeSeed()
	jtis := benchJTIs(1 << 18)
	const iss = "https://op.example"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(jtis))
		for pb.Next() {
			var h maphash.Hash
			h.SetSeed(seed)
			h.WriteString(iss)
			h.WriteString(jtis[i])
			k := h.Sum64()
			s := &shards[k&63]
			s.mu.Lock()
			s.m[k] = int64(i)
			s.mu.Unlock()
			if i++; i == len(jtis) {
				i = 0
			}
		}
	})
}

// BenchmarkMemorySeen is the replay check on a replayed token.
func BenchmarkMemorySeen(b *testing.B) {
	m := replay.NewMemory(0)
	ctx := context.Background()
	const iss, jti = "https://op.example", "6f1c2b4e-1b4e-4f5a-9c1d-2a7e3c9b8d10"
	_ = m.Record(ctx, iss, jti, time.Now().Add(time.Hour))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _ := m.Seen(ctx, iss, jti); !ok {
				b.Fatal("not seen")
			}
		}
	})
}
