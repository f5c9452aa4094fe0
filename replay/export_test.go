package replay

import "time"

// SetClock replaces a memory Cache's clock, so tests expire pairs without
// waiting.
func SetClock(c Cache, now func() time.Time) { c.(*memory).now = now }

// Len is how many pairs a memory Cache holds.
func Len(c Cache) int {
	m := c.(*memory)
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.until)
}

// DefaultCapacity is the capacity NewMemory(0) gives.
const DefaultCapacity = defaultCapacity
