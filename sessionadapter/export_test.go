package sessionadapter

// BindingCount, for tests: how many bindings a NewMemory store holds.
func BindingCount(s Store) int { return s.(*memStore).len() }

// Len, for tests: how many revocation entries are kept.
func (m *MemoryRevocations) Len() int { return m.len() }

// Sweep, for tests: forgets every expired revocation.
func (m *MemoryRevocations) Sweep() int { return m.sweep() }
