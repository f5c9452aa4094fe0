package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
)

// ErrRedis means a Redis command failed (unavailable, timed out, or
// refused); it wraps the cause. The operation changed nothing or
// everything, so it is safe to retry.
var ErrRedis = errors.New("redisadapter: redis failed")

// Lua helpers every script shares: keys derived from the prefix, exactly
// as the Go side derives them (see key).
const luaPrelude = `
local P = ARGV[1]
local function key(kind, iss, id) return P .. kind .. #iss .. ':' .. iss .. id end
local function unindex(id, iss, sub, sid)
  if sid and sid ~= '' then redis.call('ZREM', key('sid:', iss, sid), id) end
  if sub and sub ~= '' then redis.call('ZREM', key('sub:', iss, sub), id) end
end
`

// bindScript: KEYS[1] binding, then its indexes (declared for routing).
// ARGV: prefix, localID, iss, sub, sid, expiry ms, ttl ms, now ms.
var bindScript = redis.NewScript(luaPrelude + `
local id, iss, sub, sid = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local exp, ttl, now = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local rk = KEYS[1]
local old = redis.call('HMGET', rk, 'iss', 'sub', 'sid')
if old[1] then unindex(id, old[1], old[2], old[3]) end
redis.call('DEL', rk)
if ttl <= 0 then return 0 end
redis.call('HSET', rk, 'iss', iss, 'sub', sub, 'sid', sid, 'exp', exp)
redis.call('PEXPIRE', rk, ttl)
local function index(k)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  redis.call('ZADD', k, exp, id)
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
if sid ~= '' then index(key('sid:', iss, sid)) end
if sub ~= '' then index(key('sub:', iss, sub)) end
return 1
`)

// unbindScript: KEYS[1] binding. ARGV: prefix, localID.
var unbindScript = redis.NewScript(luaPrelude + `
local r = redis.call('HMGET', KEYS[1], 'iss', 'sub', 'sid')
if r[1] then unindex(ARGV[2], r[1], r[2], r[3]) end
return redis.call('DEL', KEYS[1])
`)

// endScript: KEYS the index the logout starts from (sid, else sub).
// ARGV: prefix, iss, sub, sid, endAll, data key prefix, data key suffix,
// now ms. Returns {ended, mismatched local IDs...}.
var endScript = redis.NewScript(luaPrelude + `
local iss, sub, sid, endAll = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
local dpre, dsuf, now = ARGV[6], ARGV[7], tonumber(ARGV[8])
local seen, order, origin, mismatched = {}, {}, {}, {}
local function addAll(k)
  for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do
    if not seen[id] then seen[id] = true; order[#order + 1] = id; origin[id] = k end
  end
end
if sid == '' then
  addAll(key('sub:', iss, sub))
else
  local users = {}
  if sub ~= '' then users[sub] = true end
  local k = key('sid:', iss, sid)
  for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do
    local bsub = redis.call('HGET', P .. 'b:' .. id, 'sub')
    if sub ~= '' and bsub and bsub ~= '' and bsub ~= sub then
      mismatched[#mismatched + 1] = id
    else
      if not seen[id] then seen[id] = true; order[#order + 1] = id; origin[id] = k end
      if bsub and bsub ~= '' then users[bsub] = true end
    end
  end
  if endAll then
    for u in pairs(users) do addAll(key('sub:', iss, u)) end
  end
end
local ended = 0
for _, id in ipairs(order) do
  local rk = P .. 'b:' .. id
  local r = redis.call('HMGET', rk, 'iss', 'sub', 'sid', 'exp')
  redis.call('DEL', dpre .. id .. dsuf)
  if r[1] then
    unindex(id, r[1], r[2], r[3])
    redis.call('DEL', rk)
    if tonumber(r[4]) > now then ended = ended + 1 end
  end
  redis.call('ZREM', origin[id], id)
end
local out = {ended}
for _, id in ipairs(mismatched) do out[#out + 1] = id end
return out
`)

// Store is a sessionadapter.Store in Redis, shared by every replica that
// uses the same Redis and key prefix. Safe for concurrent use.
type Store struct {
	client            redis.UniversalClient
	cfg               config
	dataPre, dataPost string
}

var _ sessionadapter.Store = (*Store)(nil)

// New returns a Store over client. It does no I/O. It fails with
// sessionadapter.ErrInvalidConfig for a nil client, a bad session key
// format, or a cluster configuration that cannot keep a logout in one
// slot (see the package doc).
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil redis client", sessionadapter.ErrInvalidConfig)
	}
	cfg, err := newConfig(opts, sharded(client))
	if err != nil {
		return nil, err
	}
	pre, post, _ := splitFormat(cfg.sessionKey)
	return &Store{client: client, cfg: cfg, dataPre: pre, dataPost: post}, nil
}

// sharded reports whether client spreads keys over nodes by hash slot.
func sharded(client redis.UniversalClient) bool {
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		return true
	}
	return false
}

func key(prefix, kind, iss, id string) string {
	return prefix + kind + strconv.Itoa(len(iss)) + ":" + iss + id
}

// SessionKey returns the key of localID's session data.
func (s *Store) SessionKey(localID string) string { return s.dataPre + localID + s.dataPost }

// Bind records b in one round trip, replacing any binding with the same
// LocalID. A zero b.Expires means now plus the session lifetime.
func (s *Store) Bind(ctx context.Context, b sessionadapter.Binding) error {
	if err := b.Validate(); err != nil {
		return err
	}
	now := s.cfg.now()
	if b.Expires.IsZero() {
		b.Expires = now.Add(s.cfg.lifetime)
	}
	keys := []string{s.cfg.prefix + "b:" + b.LocalID}
	if b.SessionID != "" {
		keys = append(keys, key(s.cfg.prefix, "sid:", b.Issuer, b.SessionID))
	}
	if b.Subject != "" {
		keys = append(keys, key(s.cfg.prefix, "sub:", b.Issuer, b.Subject))
	}
	err := bindScript.Run(ctx, s.client, keys, s.cfg.prefix, b.LocalID, b.Issuer, b.Subject, b.SessionID,
		b.Expires.UnixMilli(), b.Expires.Sub(now).Milliseconds(), now.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("%w: bind: %w", ErrRedis, err)
	}
	return nil
}

// Unbind forgets the binding of localID in one round trip, without
// deleting session data.
func (s *Store) Unbind(ctx context.Context, localID string) error {
	err := unbindScript.Run(ctx, s.client, []string{s.cfg.prefix + "b:" + localID}, s.cfg.prefix, localID).Err()
	if err != nil {
		return fmt.Errorf("%w: unbind: %w", ErrRedis, err)
	}
	return nil
}

// EndSessions deletes the session data, bindings and index entries of
// every session the logout names, atomically and in one round trip, and
// reports how many live sessions it ended.
func (s *Store) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	start := key(s.cfg.prefix, "sub:", l.Issuer, l.Subject)
	if l.SessionID != "" {
		start = key(s.cfg.prefix, "sid:", l.Issuer, l.SessionID)
	}
	endAll := "0"
	if s.cfg.endAll {
		endAll = "1"
	}
	res, err := endScript.Run(ctx, s.client, []string{start}, s.cfg.prefix, l.Issuer, l.Subject, l.SessionID,
		endAll, s.dataPre, s.dataPost, s.cfg.now().UnixMilli()).Slice()
	if err != nil {
		return 0, fmt.Errorf("%w: end sessions: %w", ErrRedis, err)
	}
	if len(res) == 0 {
		return 0, fmt.Errorf("%w: end sessions: empty reply", ErrRedis)
	}
	n, ok := res[0].(int64)
	if !ok {
		return 0, fmt.Errorf("%w: end sessions: reply %T, want integer", ErrRedis, res[0])
	}
	for _, id := range res[1:] {
		s.cfg.logger.WarnContext(ctx, "redisadapter: logout sub does not match the session's; session kept",
			slog.String("iss", l.Issuer), slog.String("sid", l.SessionID), slog.Any("local_id", id))
	}
	return int(n), nil
}
