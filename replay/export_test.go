package replay

import "time"

// SetClock replaces a memory Cache's clock, so tests expire pairs without
// waiting.
func SetClock(c Cache, now func() time.Time) { c.(*memory).now = now }

// Len is how many pairs a memory Cache holds.
func Len(c Cache) int {
	n := 0
	for i := range c.(*memory).shards {
		sh := &c.(*memory).shards[i]
		sh.mu.Lock()
		n += len(sh.until)
		sh.mu.Unlock()
	}
	return n
}

// Shards is how many shards a memory Cache has, and ShardOf which of them
// holds the pair.
func Shards(c Cache) int { return len(c.(*memory).shards) }

func ShardOf(c Cache, issuer, jti string) int {
	m := c.(*memory)
	return int(m.key(issuer, jti)[1] & uint64(len(m.shards)-1))
}

// DefaultCapacity is the capacity NewMemory(0) gives.
const DefaultCapacity = defaultCapacity
