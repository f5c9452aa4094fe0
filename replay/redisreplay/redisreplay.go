package redisreplay

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/replay"
)

// defaultPrefix is the prefix of every key when New is given "".
const defaultPrefix = "bclogout:jti:"

// cache is the replay.Cache New returns, shared by every replica that
// uses the same Redis and prefix.
//
// A pair is one key: the prefix and the hex SHA-256 of the issuer's
// length, the issuer and the jti, so its size is fixed and no byte of it
// is chosen by whoever sent the token. Record is SET key 1 PX, Seen is
// EXISTS: each command touches one key, so the cache works on Redis
// Cluster with the keys spread over all nodes. The time left is computed
// from this process's clock, the one the token was checked against; a
// SET that go-redis sends again after losing its reply only sets the same
// key again, a few milliseconds longer.
type cache struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ replay.Cache = (*cache)(nil)

// New returns a replay.Cache in Redis on client (a *redis.Client,
// *redis.ClusterClient, *redis.Ring or any other UniversalClient), shared
// by every replica that uses the same Redis and prefix, whose keys start
// with prefix ("bclogout:jti:" if ""). A prefix holding a hash tag ({…})
// would put every pair on one cluster node; leave it out.
//
// Each pair is one key holding no byte chosen by the token's sender (a
// hash of the issuer and jti): Record is SET key 1 PX, Seen is EXISTS, so
// the cache works on Redis Cluster with the keys spread over all nodes.
// Redis may forget a key early (eviction under a maxmemory policy other
// than noeviction, a FLUSHALL, a failover the write had not reached).
// The token can then be accepted once more, which runs its idempotent
// logout again; run the replay keys on a Redis with noeviction all the
// same.
//
// The client must set ContextTimeoutEnabled, or go-redis ignores context
// deadlines on the network and a stalled Redis holds the OP's request for
// the client's own timeouts and retries; New checks it on the go-redis
// client types.
func New(client redis.UniversalClient, prefix string) (replay.Cache, error) {
	if client == nil {
		return nil, errs.Config("redisreplay", "nil client")
	}
	if prefix == "" {
		prefix = defaultPrefix
	}
	if !honoursContext(client) {
		return nil, errs.Config("redisreplay", "the redis client must set ContextTimeoutEnabled so that request deadlines bound its calls")
	}
	return &cache{client: client, prefix: prefix, now: time.Now}, nil
}

func honoursContext(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	// A wrapper we cannot look into: trust its owner.
	return true
}

// Seen reports whether the pair's key exists.
func (c *cache) Seen(ctx context.Context, issuer, jti string) (bool, error) {
	n, err := c.client.Exists(ctx, c.key(issuer, jti)).Result()
	if err != nil {
		return false, fmt.Errorf("redisreplay: seen: %w", err)
	}
	return n > 0, nil
}

// Record sets the pair's key until until, rounded up to Redis's
// millisecond; an until that has passed sets nothing.
func (c *cache) Record(ctx context.Context, issuer, jti string, until time.Time) error {
	left := until.Sub(c.now())
	if left <= 0 {
		return nil
	}
	px := (left + time.Millisecond - 1) / time.Millisecond * time.Millisecond
	if err := c.client.Set(ctx, c.key(issuer, jti), "1", px).Err(); err != nil {
		return fmt.Errorf("redisreplay: record: %w", err)
	}
	return nil
}

// key is the prefix and hex(SHA-256(len(issuer) ‖ issuer ‖ jti)); the
// length keeps ("ab", "c") and ("a", "bc") apart.
func (c *cache) key(issuer, jti string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(issuer)))
	h.Write(n[:])
	h.Write([]byte(issuer))
	h.Write([]byte(jti))
	var sum [sha256.Size]byte
	return c.prefix + hex.EncodeToString(h.Sum(sum[:0]))
}
