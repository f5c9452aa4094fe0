package replay

import "time"

// SetClock replaces the Memory's clock, so tests expire pairs without
// waiting.
func (m *Memory) SetClock(now func() time.Time) { m.now = now }

// Len is how many pairs the Memory holds.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.until)
}

// DefaultCapacity is the capacity NewMemory(0) gives.
const DefaultCapacity = defaultCapacity
