// Package memrev lets the redisadapter module reach the parts of the
// Revocations of sessionadapter.NewMemoryRevocations that only a feed
// needs (waking its watchers, sweeping, counting, and the sid clock skew
// its tests set), without names in sessionadapter's API for them.
package memrev

import "time"

// Set by package sessionadapter; each takes what
// sessionadapter.NewMemoryRevocations returned.
var (
	// Notify wakes the watchers (middleware.Notifier's open pages), when
	// something other than a revocation can end sessions.
	Notify func(m any)
	// Sweep forgets every expired revocation and reports how many.
	Sweep func(m any) int
	// Len reports how many revocations are kept, expired ones not yet
	// forgotten included.
	Len func(m any) int
	// SetSIDSkew sets how much later than a sid revocation a login may be
	// and still be ended by it; call it before m is shared.
	SetSIDSkew func(m any, d time.Duration)
)
