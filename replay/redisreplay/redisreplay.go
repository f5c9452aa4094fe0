package redisreplay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/replay"
)

// Defaults of New.
const (
	DefaultPrefix = "bclogout:jti:"
	// DefaultReservationTTL bounds how long a pair stays reserved if the
	// process dies between Reserve and Commit or Release: long enough for
	// any logout to finish, short enough that the OP's retry soon succeeds.
	DefaultReservationTTL = 30 * time.Second
)

var (
	// ErrUnavailable means Redis could not be reached or did not answer in
	// time (the context's deadline included). The pair was not consumed;
	// the caller should refuse the token as a temporary failure.
	ErrUnavailable = errors.New("redisreplay: redis unavailable")
	// ErrInvalidOption reports a configuration New cannot honour.
	ErrInvalidOption = errors.New("redisreplay: invalid option")
)

// Option configures New.
type Option func(*config)

type config struct {
	prefix         string
	reservationTTL time.Duration
	now            func() time.Time
}

// WithPrefix sets the prefix of every key (default DefaultPrefix), to keep
// the Cache apart from other users of the same Redis. A prefix holding a
// hash tag ({…}) would put every pair on one cluster node; leave it out.
func WithPrefix(p string) Option {
	return func(c *config) { c.prefix = p }
}

// WithReservationTTL sets how long a reservation lives when neither Commit
// nor Release follows, e.g. because the process died (default
// DefaultReservationTTL). It never outlives the until given to Reserve.
func WithReservationTTL(d time.Duration) Option {
	return func(c *config) { c.reservationTTL = d }
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
// A reservation's value names this Cache (a random token per instance) and
// the pair's until, so Commit can keep the pair until then and Commit and
// Release never act on another replica's reservation. Within one Cache the
// calls are keyed by the pair alone, as the replay.Cache contract is.
type Cache struct {
	client         redis.UniversalClient
	prefix         string
	reservationTTL time.Duration
	now            func() time.Time
	// owner starts the value of this Cache's reservations: "r:<random>:".
	owner   string
	commit  *redis.Script
	release *redis.Script
}

var _ replay.Cache = (*Cache)(nil)

// commitScript turns this Cache's reservation (ARGV[1] is the owner
// prefix, followed in the value by the until in Unix milliseconds) into a
// committed pair kept until then; ARGV[2] is the caller's now in Unix
// milliseconds, so the expiry follows the Cache's clock like Reserve's.
const commitScript = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then
	return 0
end
local px = tonumber(string.sub(v, #ARGV[1] + 1)) - tonumber(ARGV[2])
if px < 1 then
	px = 1
end
redis.call('SET', KEYS[1], 'c', 'PX', string.format('%d', px))
return 1
`

// releaseScript deletes the key only while it holds this Cache's
// reservation, so a late Release never frees another replica's claim or a
// committed pair.
const releaseScript = `
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then
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
	cfg := config{prefix: DefaultPrefix, reservationTTL: DefaultReservationTTL, now: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.prefix == "" {
		return nil, fmt.Errorf("%w: empty key prefix", ErrInvalidOption)
	}
	if cfg.reservationTTL < time.Millisecond {
		return nil, fmt.Errorf("%w: reservation TTL %s is below Redis's 1ms resolution", ErrInvalidOption, cfg.reservationTTL)
	}
	if cfg.now == nil {
		return nil, fmt.Errorf("%w: nil clock", ErrInvalidOption)
	}
	if !honoursContext(client) {
		return nil, fmt.Errorf("%w: the redis client must set ContextTimeoutEnabled so that request deadlines bound its calls", ErrInvalidOption)
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("redisreplay: reservation token: %w", err)
	}
	return &Cache{
		client:         client,
		prefix:         cfg.prefix,
		reservationTTL: cfg.reservationTTL,
		now:            cfg.now,
		owner:          "r:" + hex.EncodeToString(tok[:]) + ":",
		commit:         redis.NewScript(commitScript),
		release:        redis.NewScript(releaseScript),
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

// Reserve claims the pair with SET NX. The claim lives for the reservation
// TTL or until the given time, whichever comes first. It returns
// replay.ErrReplayed if the pair is held by anyone (this or another
// replica), replay.ErrExpired if until is not in the future, and an error
// wrapping ErrUnavailable if Redis did not answer.
func (c *Cache) Reserve(ctx context.Context, issuer, jti string, until time.Time) error {
	now := c.now()
	left := until.Sub(now)
	if left <= 0 {
		return fmt.Errorf("%w: until %s, now %s", replay.ErrExpired, until.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	ttl := min(left, c.reservationTTL)
	// Redis counts in milliseconds: round up, so a pair is never forgotten
	// before its time.
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	// The until is rounded up to the next millisecond for the same reason.
	value := c.owner + strconv.FormatInt(until.UnixMilli()+1, 10)
	ok, err := c.client.SetNX(ctx, c.key(issuer, jti), value, ttl).Result()
	if err != nil {
		return unavailable(ctx, "reserve", err)
	}
	if !ok {
		return replay.ErrReplayed
	}
	return nil
}

// Commit makes this Cache's reservation of the pair permanent until the
// time given to Reserve. It is a no-op when the pair is not reserved by
// this Cache (unknown, expired, committed or another replica's). It
// returns an error wrapping ErrUnavailable if Redis did not answer.
func (c *Cache) Commit(ctx context.Context, issuer, jti string) error {
	now := strconv.FormatInt(c.now().UnixMilli(), 10)
	if err := c.commit.Run(ctx, c.client, []string{c.key(issuer, jti)}, c.owner, now).Err(); err != nil {
		return unavailable(ctx, "commit", err)
	}
	return nil
}

// Release forgets this Cache's reservation of the pair. It is a no-op when
// the pair is committed, unknown or reserved by another replica. It returns
// an error wrapping ErrUnavailable if Redis did not answer.
func (c *Cache) Release(ctx context.Context, issuer, jti string) error {
	if err := c.release.Run(ctx, c.client, []string{c.key(issuer, jti)}, c.owner).Err(); err != nil {
		return unavailable(ctx, "release", err)
	}
	return nil
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
