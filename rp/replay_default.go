package rp

import "github.com/bclogout/bclogout/replay"

// defaultReplayCache is the cache a Handler uses without WithReplayCache:
// bounded and in-process, right for a single replica.
func defaultReplayCache() (replay.Cache, error) {
	return replay.NewMemory()
}
