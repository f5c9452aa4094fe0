package sessionadapter

import "time"

// BindingCount, for tests: how many bindings a NewMemory store holds.
func BindingCount(s Store) int { return s.(*memStore).len() }

// RevocationsLen, for tests: how many revocation entries r (from
// NewMemoryRevocations) keeps.
func RevocationsLen(r Revocations) int { return r.(*memoryRevocations).len() }

// WithSIDClockSkew, for tests, sets how much later than a sid
// revocation's time a session's login may be and still be ended by it
// (default one minute; 0 compares the times strictly). It applies to sid
// revocations only. NewMemoryRevocations takes it.
func WithSIDClockSkew(d time.Duration) Option {
	return Option{"WithSIDClockSkew", ctorRevocations, func(c *config) { c.sidSkew = d }}
}
