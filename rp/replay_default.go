package rp

import (
	"errors"

	"github.com/bclogout/bclogout/replay"
)

// defaultReplayCache is the cache a Handler uses without WithReplayCache.
func defaultReplayCache() (replay.Cache, error) {
	return nil, errors.New("rp: WithReplayCache is required until replay.NewMemory lands")
}
