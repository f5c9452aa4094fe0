package sessionadapter

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type at int64

func (a at) Due() int64 { return int64(a) }

func TestMinHeapOrders(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 1000} {
		var h minHeap[at]
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

type held struct {
	due int64
	p   *int
}

func (h held) Due() int64 { return h.due }

// Pop leaves nothing of a popped element in the backing array, which
// would keep what it points to reachable until the slot is reused.
func TestMinHeapPopReleases(t *testing.T) {
	var h minHeap[held]
	for i := range 8 {
		h.Push(held{due: int64(i), p: new(int)})
	}
	for len(h) > 0 {
		h.Pop()
		if vacated := h[:len(h)+1][len(h)]; vacated.p != nil {
			t.Fatalf("after Pop to %d elements, the vacated slot still holds %+v", len(h), vacated)
		}
	}
}
