// Package testclock is the settable clock of the project's tests: time is
// injected (WithClock options), and a test moves it instead of sleeping.
// It is safe for concurrent use, since the code under test reads it from
// its own goroutines.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time source that only moves when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock stopped at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; its method value is what WithClock takes.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
