// Package notify lets the redisadapter module wake the watchers of a
// sessionadapter.MemoryRevocations (middleware.Notifier's open pages)
// when something other than a revocation can end sessions, without a
// method in sessionadapter's API for it.
package notify

// Watchers is set by package sessionadapter: it wakes the watchers of the
// *sessionadapter.MemoryRevocations it is given.
var Watchers func(memoryRevocations any)
