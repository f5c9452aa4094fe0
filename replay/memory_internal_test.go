package replay

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestShardHeapStaysBounded releases and reserves the same pairs over and
// over: every release leaves a stale heap item, and the rebuild must keep
// them from piling up.
func TestShardHeapStaysBounded(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m, err := NewMemory(WithCapacity(8), WithShards(1), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := &m.shards[0]
	for i := range 1000 {
		jti := fmt.Sprint(i % 8)
		if err := m.Reserve(ctx, "iss", jti, now.Add(time.Minute)); err != nil {
			t.Fatalf("Reserve %d: %v", i, err)
		}
		if err := m.Release(ctx, "iss", jti); err != nil {
			t.Fatal(err)
		}
		if got, limit := len(s.expiries), 2*s.capacity; got > limit {
			t.Fatalf("heap holds %d items, want at most %d", got, limit)
		}
	}
}

func TestExpiryHeapOrder(t *testing.T) {
	var h expiryHeap
	in := []int64{5, 3, 9, 1, 7, 3, 8, 2}
	for _, e := range in {
		h.push(expiry{exp: e})
	}
	want := []int64{1, 2, 3, 3, 5, 7, 8, 9}
	for i, w := range want {
		if got := h.pop().exp; got != w {
			t.Fatalf("pop %d = %d, want %d", i, got, w)
		}
	}
	h = expiryHeap{{exp: 4}, {exp: 2}, {exp: 6}, {exp: 1}}
	h.init()
	if h[0].exp != 1 {
		t.Fatalf("after init the top is %d, want 1", h[0].exp)
	}
}

func TestExpiryHeapRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h expiryHeap
	var want []int64
	for range 1000 {
		e := r.Int64N(500)
		h.push(expiry{exp: e})
		want = append(want, e)
	}
	slices.Sort(want)
	for i, w := range want {
		if got := h.pop().exp; got != w {
			t.Fatalf("pop %d = %d, want %d", i, got, w)
		}
	}
}
