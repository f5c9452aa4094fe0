package minheap_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bclogout/bclogout/internal/minheap"
)

type at int64

func (a at) Due() int64 { return int64(a) }

func TestHeapOrders(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 1000} {
		var h minheap.Heap[at]
		want := make([]int64, n)
		for i := range n {
			v := rand.Int64N(100)
			want[i] = v
			h.Push(at(v))
		}
		slices.Sort(want)
		for i := range n {
			if got := h.Pop().Due(); got != want[i] {
				t.Fatalf("n=%d: pop %d = %d, want %d", n, i, got, want[i])
			}
		}
		if len(h) != 0 {
			t.Fatalf("n=%d: %d left", n, len(h))
		}
	}
}
