package redisreplay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/replay"
)

// DefaultPrefix is the prefix of every key unless WithPrefix says
// otherwise.
const DefaultPrefix = "bclogout:jti:"

var (
	// ErrUnavailable means Redis could not be reached or did not answer in
	// time (the context's deadline included). The pair was not consumed;
	// the caller should refuse the token as a temporary failure.
	ErrUnavailable = errors.New("redisreplay: redis unavailable")
	// ErrInvalidOption reports a configuration New cannot honour, a nil
	// option included: the package's one constructor error.
	ErrInvalidOption = errors.New("redisreplay: invalid option")
)

// Option configures New.
type Option func(*config)

type config struct {
	prefix string
	now    func() time.Time
}

// WithPrefix sets the prefix of every key (default DefaultPrefix), to keep
// the Cache apart from other users of the same Redis. A prefix holding a
// hash tag ({…}) would put every pair on one cluster node; leave it out.
func WithPrefix(p string) Option {
	return func(c *config) { c.prefix = p }
}

// WithClock sets the source of the current time (default time.Now), from
// which the time left until a pair's until is computed.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Cache is a replay.Cache in Redis.
//
// A key is the prefix and the hex SHA-256 of the issuer's length, the
// issuer and the jti: fixed size, unambiguous, and free of bytes chosen by
// whoever sent the token. Keys carry no shared hash tag, because each
// command touches one key only: a shared tag would buy nothing and would
// pile every pair onto a single cluster node.
//
// A key's value is "r:" and the reservation's token while reserved, "c:"
// and it once committed; either way the key lives until the until given
// to Reserve (see replay.Cache for why a reservation does not expire
// sooner). The token is 128 random bits per Reserve, in hex, so Commit and
// Release act on their own reservation only, never on the claim of
// another attempt at the same token, in this replica or another.
//
// Redis may still forget a key before its time: a failover to a replica
// the write had not reached, eviction under a maxmemory policy other than
// noeviction, a FLUSHALL. Commit then reports replay.ErrReservationLost and
// consumes the pair anyway. Run the replay keys on a Redis with
// maxmemory-policy noeviction (or volatile-* with room to spare).
type Cache struct {
	client  redis.UniversalClient
	prefix  string
	now     func() time.Time
	commit  *redis.Script
	release *redis.Script
}

var _ replay.Cache = (*Cache)(nil)

// commitScript consumes the pair. ARGV[1] is the reservation's token,
// ARGV[2] the milliseconds left until its until. It returns 1 when the
// key held this reservation (or was already committed by it), 0 when the
// claim was lost: the key was gone or held by another attempt, and is
// consumed all the same, or was already consumed by another attempt,
// whose expiry stands.
const commitScript = `
local v = redis.call('GET', KEYS[1])
if v == 'r:' .. ARGV[1] then
	redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'PX', ARGV[2])
	return 1
end
if v == 'c:' .. ARGV[1] then
	return 1
end
if not v or string.sub(v, 1, 2) ~= 'c:' then
	redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'PX', ARGV[2])
end
return 0
`

// releaseScript deletes the key only while it holds this reservation
// (ARGV[1] is its token), so a late Release never frees another attempt's
// claim or a committed pair.
const releaseScript = `
if redis.call('GET', KEYS[1]) == 'r:' .. ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`

// New returns a Cache on the given client, a *redis.Client,
// *redis.ClusterClient, *redis.Ring or any other UniversalClient.
//
// The client must have ContextTimeoutEnabled set: without it go-redis
// ignores context deadlines on the network and a stalled Redis would hold
// the OP's request for the client's own timeouts and retries. New checks
// it on the go-redis client types; an invalid configuration is an error
// wrapping ErrInvalidOption.
func New(client redis.UniversalClient, opts ...Option) (*Cache, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOption)
	}
	cfg := config{prefix: DefaultPrefix, now: time.Now}
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidOption, i)
		}
		opt(&cfg)
	}
	if cfg.prefix == "" {
		return nil, fmt.Errorf("%w: empty key prefix", ErrInvalidOption)
	}
	if cfg.now == nil {
		return nil, fmt.Errorf("%w: nil clock", ErrInvalidOption)
	}
	if !honoursContext(client) {
		return nil, fmt.Errorf("%w: the redis client must set ContextTimeoutEnabled so that request deadlines bound its calls", ErrInvalidOption)
	}
	return &Cache{
		client:  client,
		prefix:  cfg.prefix,
		now:     cfg.now,
		commit:  redis.NewScript(commitScript),
		release: redis.NewScript(releaseScript),
	}, nil
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

// Reserve claims the pair with SET NX until the given time. It returns
// replay.ErrReplayed if the pair is held by anyone (this or another
// replica), replay.ErrExpired if until is not in the future, and an error
// wrapping ErrUnavailable if Redis did not answer.
//
// Redis may have applied the SET all the same (its reply lost to a
// timeout, a dropped connection, a failover). So on ErrUnavailable Reserve
// returns the Reservation it tried to make alongside the error, and, while
// ctx still allows, deletes that claim again (compare-and-delete on its
// token, never another attempt's claim). If that delete fails too, the
// claim stays until until: the OP's own retries of the token are refused
// as replays meanwhile, and the caller ends the logout by Releasing the
// returned Reservation and reserving again (rp's retry queue does).
func (c *Cache) Reserve(ctx context.Context, issuer, jti string, until time.Time) (replay.Reservation, error) {
	now := c.now()
	px, ok := millisLeft(now, until)
	if !ok {
		return replay.Reservation{}, fmt.Errorf("%w: until %s, now %s", replay.ErrExpired, until.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	r := replay.Reservation{Issuer: issuer, JTI: jti, Until: until}
	_, _ = rand.Read(r.Token[:]) // crypto/rand.Read never fails (Go 1.24+)
	key := c.key(issuer, jti)
	set, err := c.client.SetNX(ctx, key, "r:"+hex.EncodeToString(r.Token[:]), time.Duration(px)*time.Millisecond).Result()
	if err != nil {
		err = unavailable(ctx, "reserve", err)
		if ctx.Err() == nil {
			if rerr := c.Release(ctx, r); rerr != nil {
				return r, fmt.Errorf("%w (undoing the claim: %w)", err, rerr)
			}
		}
		return r, err
	}
	if !set {
		return replay.Reservation{}, replay.ErrReplayed
	}
	return r, nil
}

// Commit consumes the pair until r.Until. If r's reservation no longer
// held the key (Redis forgot it, or another attempt claimed or consumed
// the pair), the pair is consumed all the same and the error wraps
// replay.ErrReservationLost. It returns an error wrapping ErrUnavailable
// if Redis did not answer; the reservation then still guards the pair
// until r.Until.
func (c *Cache) Commit(ctx context.Context, r replay.Reservation) error {
	now := c.now()
	px, ok := millisLeft(now, r.Until)
	if !ok {
		// The token can no longer be accepted: nothing to remember.
		return fmt.Errorf("%w: until %s has passed", replay.ErrReservationLost, r.Until.Format(time.RFC3339Nano))
	}
	held, err := c.commit.Run(ctx, c.client, []string{c.key(r.Issuer, r.JTI)}, hex.EncodeToString(r.Token[:]), px).Int()
	if err != nil {
		return unavailable(ctx, "commit", err)
	}
	if held != 1 {
		return fmt.Errorf("%w: the key no longer held this reservation", replay.ErrReservationLost)
	}
	return nil
}

// Release forgets the pair if r's reservation still holds it. It is a
// no-op when the pair is committed, unknown or claimed by another
// Reserve. It returns an error wrapping ErrUnavailable if Redis did not
// answer; the reservation then stays until r.Until.
func (c *Cache) Release(ctx context.Context, r replay.Reservation) error {
	if err := c.release.Run(ctx, c.client, []string{c.key(r.Issuer, r.JTI)}, hex.EncodeToString(r.Token[:])).Err(); err != nil {
		return unavailable(ctx, "release", err)
	}
	return nil
}

// millisLeft is the time from now until until in milliseconds, Redis's
// resolution, rounded up so a pair is never forgotten before its time; ok
// is false when until is not in the future.
func millisLeft(now, until time.Time) (int64, bool) {
	left := until.Sub(now)
	if left <= 0 {
		return 0, false
	}
	return int64((left + time.Millisecond - 1) / time.Millisecond), true
}

// key is the prefix and hex(SHA-256(len(issuer) ‖ issuer ‖ jti)); the
// length keeps ("ab", "c") and ("a", "bc") apart.
func (c *Cache) key(issuer, jti string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(issuer)))
	h.Write(n[:])
	h.Write([]byte(issuer))
	h.Write([]byte(jti))
	var sum [sha256.Size]byte
	return c.prefix + hex.EncodeToString(h.Sum(sum[:0]))
}

// unavailable wraps a Redis failure with ErrUnavailable, and with the
// context's own error when the deadline or a cancellation caused it (the
// network error alone would hide that). go-redis sets the connection's
// deadline to the context's, so the read can time out a moment before the
// context reports it: a passed deadline counts too.
func unavailable(ctx context.Context, op string, err error) error {
	ctxErr := ctx.Err()
	if deadline, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(deadline) {
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %s: %w: %w", ErrUnavailable, op, ctxErr, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}
