// Package memrev lets the redisadapter module reach the parts of a
// sessionadapter.MemoryRevocations that only a feed needs (waking its
// watchers, sweeping, counting), without methods in sessionadapter's API
// for them.
package memrev

// Set by package sessionadapter; each takes a *sessionadapter.MemoryRevocations.
var (
	// Notify wakes the watchers (middleware.Notifier's open pages), when
	// something other than a revocation can end sessions.
	Notify func(m any)
	// Sweep forgets every expired revocation and reports how many.
	Sweep func(m any) int
	// Len reports how many revocations are kept, expired ones not yet
	// forgotten included.
	Len func(m any) int
)
