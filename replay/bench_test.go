package replay_test

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
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

// BenchmarkMemoryRecord records new pairs from every CPU into a default
// Memory in its steady state: pairs live 2 ms, so entries keep expiring
// and being swept while new ones arrive, as in a long-running RP. Read it
// beside BenchmarkBaselineShardedMap, run in the same command under -cpu 2
// (the goal is at most 3x):
//
//	go test -run '^$' -bench 'MemoryRecord$|BaselineShardedMap$' -cpu 2 -count 5 ./replay
func BenchmarkMemoryRecord(b *testing.B) {
	m := replay.NewMemory(0)
	jtis := benchJTIs(1 << 20)
	const iss = "https://op.example"
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine walks from its own random place: every pair is
		// new, and one seen again after a lap expired long before.
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

// BenchmarkBaselineShardedMap is the raw operation of a bounded set under
// Record, from every CPU: hash the new pair into a map of 64 locked
// shards, and delete the pair stored 4,096 stores earlier (a bounded set
// must forget as it learns), without expiry.
func BenchmarkBaselineShardedMap(b *testing.B) {
	base := newShardedMap()
	jtis := benchJTIs(1 << 20)
	const iss, keep = "https://op.example", 4096
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(jtis))
		var ring [keep]uint64
		for n := 0; pb.Next(); n++ {
			k := base.key(iss, jtis[i])
			base.put(k, int64(n))
			base.del(ring[n%keep])
			ring[n%keep] = k
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

// shardedMap is the raw operation under Record: hash the pair, store it in
// one of 64 locked shards, with no expiry and no bound.
type shardedMap struct {
	seed   maphash.Seed
	shards [64]struct {
		mu sync.Mutex
		m  map[uint64]int64
	}
}

func newShardedMap() *shardedMap {
	s := &shardedMap{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]int64)
	}
	return s
}

func (s *shardedMap) key(iss, jti string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(iss)
	h.WriteString(jti)
	return h.Sum64()
}

func (s *shardedMap) put(k uint64, v int64) {
	sh := &s.shards[k&63]
	sh.mu.Lock()
	sh.m[k] = v
	sh.mu.Unlock()
}

func (s *shardedMap) del(k uint64) {
	sh := &s.shards[k&63]
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// BenchmarkInterleavedRecord reads Record's cost as a ratio to the raw
// operation of a bounded set in one run: it alternates batches of 64
// Records and 64 stores into a 64-shard locked map that also deletes the
// pair stored 4,096 stores earlier (a bounded set must forget as it
// learns), and reports the median of the per-batch time ratios as
// x-baseline (the goal is at most 3), so both sides see the same load on a
// shared machine. Every pair is new, as every genuine token's jti is;
// pairs live 2 ms, so the memory cache's sweep is part of its cost and its live
// set stays about as large as the baseline's.
func BenchmarkInterleavedRecord(b *testing.B) {
	m := replay.NewMemory(0)
	base := newShardedMap()
	jtis := benchJTIs(1 << 20)
	const iss, batch, keep = "https://op.example", 64, 4096
	ctx := context.Background()
	var ring [keep]uint64
	var ratios []float64
	i := 0
	for b.Loop() {
		until := time.Now().Add(2 * time.Millisecond)
		start := time.Now()
		for j := range batch {
			_ = m.Record(ctx, iss, jtis[(i+j)%len(jtis)], until)
		}
		tRecord := time.Since(start)
		start = time.Now()
		for j := range batch {
			n := i + j
			k := base.key(iss, jtis[n%len(jtis)])
			base.put(k, int64(n))
			base.del(ring[n%keep])
			ring[n%keep] = k
		}
		tBase := time.Since(start)
		ratios = append(ratios, float64(tRecord)/float64(tBase))
		i += batch
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-baseline")
}
