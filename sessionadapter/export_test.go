package sessionadapter

// Len, for tests: how many bindings the store holds.
func (m *Memory) Len() int { return m.len() }

// Len, for tests: how many revocation entries are kept.
func (m *MemoryRevocations) Len() int { return m.len() }

// Sweep, for tests: forgets every expired revocation.
func (m *MemoryRevocations) Sweep() int { return m.sweep() }
