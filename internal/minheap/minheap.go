// Package minheap is the min-heap of expiries that the replay cache and
// the revocation set both keep, written out rather than driven by
// container/heap, whose any-typed Push allocates for every element.
package minheap

// Item is an element ordered by Due, soonest first.
type Item interface {
	Due() int64
}

// Heap is a min-heap on Due; the zero value is empty.
type Heap[T Item] []T

// Push adds x.
func (h *Heap[T]) Push(x T) {
	*h = append(*h, x)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if q[parent].Due() <= q[i].Due() {
			break
		}
		q[parent], q[i] = q[i], q[parent]
		i = parent
	}
}

// Pop removes and returns the element due first, keeping no reference
// to it; the heap must not be empty.
func (h *Heap[T]) Pop() T {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	// Clear the vacated slot: the backing array outlives the element, and
	// what it points to (a session's ID) must not stay reachable through it.
	var zero T
	q[last] = zero
	q = q[:last]
	for i := 0; ; {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(q) && q[l].Due() < q[least].Due() {
			least = l
		}
		if r < len(q) && q[r].Due() < q[least].Due() {
			least = r
		}
		if least == i {
			break
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
	*h = q
	return top
}
