// Package retrytest counts what an rp.Handler's retry queue reports, for
// the tests of stores that fail and come back (integration, pgadapter).
package retrytest

import (
	"sync"
	"time"
)

// Metrics counts the outcomes an rp.Handler reports through
// rp.WithMetrics (Observe), and closes Done when n logouts have been
// retried. Read its fields with it locked.
type Metrics struct {
	sync.Mutex
	Accepted  int
	Queued    int
	Retried   []int    // the sessions each retry ended, in order
	Abandoned []string // the abandoned_* outcomes
	Others    map[string]int
	n         int
	done      chan struct{}
}

// NewMetrics returns Metrics whose Done closes at the nth retry.
func NewMetrics(n int) *Metrics {
	return &Metrics{Others: map[string]int{}, n: n, done: make(chan struct{})}
}

// Observe is the function rp.WithMetrics takes.
func (m *Metrics) Observe(_, _, outcome string, n int, _ time.Duration) {
	m.Lock()
	defer m.Unlock()
	switch outcome {
	case "accepted":
		m.Accepted++
	case "queued":
		m.Queued++
	case "retried":
		m.Retried = append(m.Retried, n)
		if len(m.Retried) == m.n {
			close(m.done)
		}
	case "abandoned_full", "abandoned_expired", "abandoned_closed":
		m.Abandoned = append(m.Abandoned, outcome)
	default:
		m.Others[outcome]++
	}
}

// Done is closed when n logouts have been retried.
func (m *Metrics) Done() <-chan struct{} { return m.done }
