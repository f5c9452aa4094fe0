package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/logid"
	"github.com/bclogout/bclogout/sessionadapter/internal/valid"
)

// errRedis prefixes the errors of failed Redis commands (unavailable,
// timed out, or refused), wrapping the cause. The operation changed
// nothing or everything, so it is safe to retry.
var errRedis = errors.New("redisadapter: redis failed")

// Lua helpers every script shares: keys derived from the prefix, exactly
// as the Go side derives them (see key), and the logout rules of the
// sessionadapter package.
const luaPrelude = `
local P = ARGV[1]
local function key(kind, iss, id) return P .. kind .. #iss .. ':' .. iss .. id end
local function unindex(id, iss, sub, sid)
  if sid and sid ~= '' then redis.call('ZREM', key('sid:', iss, sid), id) end
  if sub and sub ~= '' then redis.call('ZREM', key('sub:', iss, sub), id) end
end
-- bulk runs cmd on key (if any) with the given arguments, a few thousand
-- at a time (Lua's unpack has a stack limit): one call per batch rather
-- than one per session keeps a large logout short.
local function bulk(cmd, key, args)
  for i = 1, #args, 4000 do
    local j = math.min(i + 3999, #args)
    if key then
      redis.call(cmd, key, unpack(args, i, j))
    else
      redis.call(cmd, unpack(args, i, j))
    end
  end
end
-- endLogout ends the sessions a logout names: their data, bindings and
-- index entries. With notAfter (ms), only bindings whose login time is
-- not after it. Returns the live sessions ended and the local IDs kept
-- for a sub mismatch. Each binding is read once and every deletion is
-- batched, so the cost is linear in the sessions.
local function endLogout(iss, sub, sid, dpre, dsuf, now, notAfter)
  local start = key('sub:', iss, sub)
  if sid ~= '' then start = key('sid:', iss, sid) end
  local order, bound, mismatched = {}, {}, {}
  for _, id in ipairs(redis.call('ZRANGE', start, 0, -1)) do
    local r = redis.call('HMGET', P .. 'b:' .. id, 'iss', 'sub', 'sid', 'exp', 'lt')
    local bsub = r[2]
    if sid ~= '' and sub ~= '' and bsub and bsub ~= '' and bsub ~= sub then
      mismatched[#mismatched + 1] = id
    elseif not (notAfter and r[5] and tonumber(r[5]) > notAfter) then
      order[#order + 1] = id; bound[id] = r
    end
  end
  local ended, data, bkeys, zrem = 0, {}, {}, {}
  local function unlist(k, id)
    local l = zrem[k]
    if not l then l = {}; zrem[k] = l end
    l[#l + 1] = id
  end
  for _, id in ipairs(order) do
    local r = bound[id]
    data[#data + 1] = dpre .. id .. dsuf
    if r[1] then
      if r[3] and r[3] ~= '' then unlist(key('sid:', r[1], r[3]), id) end
      if r[2] and r[2] ~= '' then unlist(key('sub:', r[1], r[2]), id) end
      bkeys[#bkeys + 1] = P .. 'b:' .. id
      if tonumber(r[4]) > now then ended = ended + 1 end
    else
      unlist(start, id) -- an expired binding's stale index entry
    end
  end
  bulk('DEL', nil, data)
  bulk('DEL', nil, bkeys)
  for k, ids in pairs(zrem) do bulk('ZREM', k, ids) end
  return ended, mismatched
end
`

// bindScript: KEYS[1] binding, then its indexes (declared for routing).
// ARGV: prefix, localID, iss, sub, sid, expiry ms, ttl ms, now ms, login ms,
// raw ID token ("" for none).
var bindScript = redis.NewScript(luaPrelude + `
local id, iss, sub, sid = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local exp, ttl, now = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local rk = KEYS[1]
local old = redis.call('HMGET', rk, 'iss', 'sub', 'sid')
if old[1] then unindex(id, old[1], old[2], old[3]) end
redis.call('DEL', rk)
if ttl <= 0 then return 0 end
redis.call('HSET', rk, 'iss', iss, 'sub', sub, 'sid', sid, 'exp', exp, 'lt', ARGV[9])
if ARGV[10] ~= '' then redis.call('HSET', rk, 'idt', ARGV[10]) end
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
// ARGV: prefix, iss, sub, sid, data key prefix, data key suffix,
// now ms, and the logout's iat ms, or an empty string when the token had
// none: a binding whose login is after a known iat is a fresh login the
// logout must spare. Returns {ended, mismatched local IDs...}.
var endScript = redis.NewScript(luaPrelude + `
local notAfter = nil
if ARGV[8] ~= '' then notAfter = tonumber(ARGV[8]) end
local ended, mismatched = endLogout(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), notAfter)
local out = {ended}
for _, id in ipairs(mismatched) do out[#out + 1] = id end
return out
`)

// store is the sessionadapter.Store of New.
type store struct {
	client            redis.UniversalClient
	cfg               config
	dataPre, dataPost string
}

var _ sessionadapter.Store = (*store)(nil)

// New returns a sessionadapter.Store in Redis over client, shared by
// every replica that uses the same Redis and key prefix. Safe for
// concurrent use. It does no I/O, and runs nothing in the background.
//
// Each logout deletes the sessions' data, bindings and index entries in
// one script. What a request still in flight at the logout writes back
// afterwards, the revocation (sessionadapter.NewRevokingEnder) ends at that
// session's next request: deletion frees storage, the revocation keeps
// the user signed out. Bind records a binding in one round trip,
// replacing any with the same LocalID (a zero Expires means 30 days from
// now, the default session lifetime); Unbind forgets one without deleting the session data.
//
// It takes WithSessionKey, WithKeyPrefix, WithLogger and WithClock, and fails
// with an error wrapping bclogout.ErrInvalidConfig for a nil client, a bad
// option or session key format, or a cluster configuration that cannot keep a
// logout in one slot (see the package doc).
func New(client redis.UniversalClient, opts ...Option) (sessionadapter.Store, error) {
	if client == nil {
		return nil, errs.Config("redisadapter", "nil redis client")
	}
	cfg, err := newConfig(ctorStore, opts, sharded(client))
	if err != nil {
		return nil, err
	}
	pre, post, _ := splitFormat(cfg.sessionKey)
	return &store{client: client, cfg: cfg, dataPre: pre, dataPost: post}, nil
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

// sessionKey returns the key of localID's session data.
func (s *store) sessionKey(localID string) string { return s.dataPre + localID + s.dataPost }

// Bind records b in one round trip, replacing any binding with the same
// LocalID. A zero b.Expires means 30 days from now, the default session
// lifetime (the session library's deadline, which Sessions.Stash sets, is
// the one way to say another).
func (s *store) Bind(ctx context.Context, b sessionadapter.Binding) error {
	if err := valid.Binding(b.Issuer, b.Subject, b.SessionID, b.LocalID); err != nil {
		return err
	}
	now := s.cfg.now()
	if b.Expires.IsZero() {
		b.Expires = now.Add(defaults.SessionLifetime)
	}
	keys := []string{s.cfg.prefix + "b:" + b.LocalID}
	if b.SessionID != "" {
		keys = append(keys, key(s.cfg.prefix, "sid:", b.Issuer, b.SessionID))
	}
	if b.Subject != "" {
		keys = append(keys, key(s.cfg.prefix, "sub:", b.Issuer, b.Subject))
	}
	err := bindScript.Run(ctx, s.client, keys, s.cfg.prefix, b.LocalID, b.Issuer, b.Subject, b.SessionID,
		b.Expires.UnixMilli(), b.Expires.Sub(now).Milliseconds(), now.UnixMilli(), b.LoginTime.UnixMilli(), b.IDToken).Err()
	if err != nil {
		return fmt.Errorf("%w: bind: %w", errRedis, err)
	}
	return nil
}

// IDTokenHint returns the raw ID token bound with localID, for the
// id_token_hint of a sign-out, in one round trip; "" when the binding has
// none or is gone (expired or ended).
func (s *store) IDTokenHint(ctx context.Context, localID string) (string, error) {
	v, err := s.client.HGet(ctx, s.cfg.prefix+"b:"+localID, "idt").Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("%w: id token hint: %w", errRedis, err)
	}
	return v, nil
}

// Unbind forgets the binding of localID in one round trip, without
// deleting session data.
func (s *store) Unbind(ctx context.Context, localID string) error {
	err := unbindScript.Run(ctx, s.client, []string{s.cfg.prefix + "b:" + localID}, s.cfg.prefix, localID).Err()
	if err != nil {
		return fmt.Errorf("%w: unbind: %w", errRedis, err)
	}
	return nil
}

// EndSessions deletes the session data, bindings and index entries of
// every session the logout names, atomically and in one round trip, and
// reports how many live sessions it ended.
func (s *store) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	start := key(s.cfg.prefix, "sub:", l.Issuer, l.Subject)
	if l.SessionID != "" {
		start = key(s.cfg.prefix, "sid:", l.Issuer, l.SessionID)
	}
	notAfter := "" // no iat: the login times cannot be compared, end them all
	if !l.IssuedAt.IsZero() {
		notAfter = strconv.FormatInt(l.IssuedAt.UnixMilli(), 10)
	}
	res, err := endScript.Run(ctx, s.client, []string{start}, s.cfg.prefix, l.Issuer, l.Subject, l.SessionID,
		s.dataPre, s.dataPost, s.cfg.now().UnixMilli(), notAfter).Slice()
	if err != nil {
		return 0, fmt.Errorf("%w: end sessions: %w", errRedis, err)
	}
	if len(res) == 0 {
		return 0, fmt.Errorf("%w: end sessions: empty reply", errRedis)
	}
	n, ok := res[0].(int64)
	if !ok {
		return 0, fmt.Errorf("%w: end sessions: reply %T, want integer", errRedis, res[0])
	}
	for _, id := range res[1:] {
		s.cfg.logger.WarnContext(ctx, "redisadapter: logout sub does not match the session's; session kept",
			slog.String("iss", l.Issuer), slog.String("sid", l.SessionID), slog.String("local_id", logid.Of(fmt.Sprint(id))))
	}
	return int(n), nil
}
