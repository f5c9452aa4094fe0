package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
)

// ErrRedis means a Redis command failed (unavailable, timed out, or
// refused); it wraps the cause. The operation changed nothing or
// everything, so it is safe to retry.
var ErrRedis = errors.New("redisadapter: redis failed")

// Lua helpers every script shares: keys derived from the prefix, exactly
// as the Go side derives them (see key), the length-prefixed fields of a
// queued second deletion, and the logout rules of the sessionadapter
// package.
const luaPrelude = `
local P = ARGV[1]
local function key(kind, iss, id) return P .. kind .. #iss .. ':' .. iss .. id end
local function f(s) return #s .. ':' .. s end
local function field(s, i)
  local c = string.find(s, ':', i, true)
  local n = tonumber(string.sub(s, i, c - 1))
  return string.sub(s, c + 1, c + n), c + n + 1
end
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
-- not after it. Returns the live sessions ended, the local IDs ended and
-- the local IDs kept for a sub mismatch. Each binding is read once and
-- every deletion is batched, so the cost is linear in the sessions.
local function endLogout(iss, sub, sid, endAll, dpre, dsuf, now, notAfter)
  local seen, order, bound, origin, mismatched = {}, {}, {}, {}, {}
  local function read(id)
    return redis.call('HMGET', P .. 'b:' .. id, 'iss', 'sub', 'sid', 'exp', 'lt')
  end
  local function take(id, k, r)
    if seen[id] then return end
    seen[id] = true
    r = r or read(id)
    if notAfter and r[5] and tonumber(r[5]) > notAfter then return end
    order[#order + 1] = id; bound[id] = r; origin[id] = k
  end
  local function addAll(k)
    for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do take(id, k) end
  end
  if sid == '' then
    addAll(key('sub:', iss, sub))
  else
    local users = {}
    if sub ~= '' then users[sub] = true end
    local k = key('sid:', iss, sid)
    for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do
      local r = read(id)
      local bsub = r[2]
      if sub ~= '' and bsub and bsub ~= '' and bsub ~= sub then
        mismatched[#mismatched + 1] = id
      else
        take(id, k, r)
        if bsub and bsub ~= '' then users[bsub] = true end
      end
    end
    if endAll then
      for u in pairs(users) do addAll(key('sub:', iss, u)) end
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
      unlist(origin[id], id) -- an expired binding's stale index entry
    end
  end
  bulk('DEL', nil, data)
  bulk('DEL', nil, bkeys)
  for k, ids in pairs(zrem) do bulk('ZREM', k, ids) end
  return ended, order, mismatched
end
`

// bindScript: KEYS[1] binding, then its indexes (declared for routing).
// ARGV: prefix, localID, iss, sub, sid, expiry ms, ttl ms, now ms, login ms.
var bindScript = redis.NewScript(luaPrelude + `
local id, iss, sub, sid = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local exp, ttl, now = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local rk = KEYS[1]
local old = redis.call('HMGET', rk, 'iss', 'sub', 'sid')
if old[1] then unindex(id, old[1], old[2], old[3]) end
redis.call('DEL', rk)
if ttl <= 0 then return 0 end
redis.call('HSET', rk, 'iss', iss, 'sub', sub, 'sid', sid, 'exp', exp, 'lt', ARGV[9])
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

// endScript: KEYS the index the logout starts from (sid, else sub), then
// the queue of second deletions. ARGV: prefix, iss, sub, sid, endAll,
// data key prefix, data key suffix, now ms, logout ms, due ms, and the
// logout's iat ms, or an empty string when the token had none: a binding whose login is
// after a known iat is a fresh login the logout must spare. Returns
// {ended, mismatched local IDs...}.
var endScript = redis.NewScript(luaPrelude + `
local iss, sub, sid = ARGV[2], ARGV[3], ARGV[4]
local notAfter = nil
if ARGV[11] ~= '' then notAfter = tonumber(ARGV[11]) end
local ended, order, mismatched = endLogout(iss, sub, sid, ARGV[5] == '1', ARGV[6], ARGV[7], tonumber(ARGV[8]), notAfter)
-- Built as a table and joined once: concatenating in the loop copies the
-- record for every session, quadratic in the sessions one logout names.
local parts = {f(ARGV[9]), f(ARGV[5]), f(iss), f(sub), f(sid)}
for _, id in ipairs(order) do parts[#parts + 1] = f(id) end
redis.call('ZADD', KEYS[2], tonumber(ARGV[10]), table.concat(parts))
local out = {ended}
for _, id in ipairs(mismatched) do out[#out + 1] = id end
return out
`)

// endDueScript: KEYS[1] the queue of second deletions. ARGV: prefix, now
// ms, data key prefix, data key suffix, limit. Each due entry deletes the
// data of the IDs its logout ended (unless a login after the logout bound
// the ID again), then ends the sessions bound since whose login was not
// after the logout. Returns the number of entries done.
var endDueScript = redis.NewScript(luaPrelude + `
local now, dpre, dsuf = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local recs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, rec in ipairs(recs) do
  local v, i = {}, 1
  while i <= #rec do
    local x
    x, i = field(rec, i)
    v[#v + 1] = x
  end
  local at = tonumber(v[1])
  for j = 6, #v do
    local id = v[j]
    local rk = P .. 'b:' .. id
    local r = redis.call('HMGET', rk, 'iss', 'sub', 'sid', 'lt')
    if not (r[1] and tonumber(r[4] or '0') > at) then
      redis.call('DEL', dpre .. id .. dsuf)
      if r[1] then unindex(id, r[1], r[2], r[3]); redis.call('DEL', rk) end
    end
  end
  endLogout(v[3], v[4], v[5], v[2] == '1', dpre, dsuf, now, at)
  redis.call('ZREM', KEYS[1], rec)
end
return #recs
`)

// endDueBatch bounds the entries one endDueScript call handles, so that a
// backlog never blocks Redis for long.
const endDueBatch = 100

// Store is a sessionadapter.Store in Redis, shared by every replica that
// uses the same Redis and key prefix. Safe for concurrent use.
//
// Each logout deletes the sessions' data twice: at once, and when the
// in-flight window has passed (WithInFlightWindow). The second deletion is
// queued in Redis with the logout, in the same script, so it survives the
// replica that accepted the logout: every Store polls the queue in the
// background (at a tenth of the window, between 1 s and 30 s) and one of
// them runs each entry, atomically. Close stops the poller.
type Store struct {
	client            redis.UniversalClient
	cfg               config
	dataPre, dataPost string

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

var (
	_ sessionadapter.Store    = (*Store)(nil)
	_ sessionadapter.Windowed = (*Store)(nil)
)

// New returns a Store over client and starts its poller of second
// deletions; Close stops it. It does no I/O itself. It fails with
// errs.ErrInvalidConfig for a nil client or option, a bad
// session key format, or a cluster configuration that cannot keep a
// logout in one slot (see the package doc).
func New(client redis.UniversalClient, opts ...StoreOption) (*Store, error) {
	if client == nil {
		return nil, errs.Config("redisadapter", "nil redis client")
	}
	cfg, err := storeConfig(opts, sharded(client))
	if err != nil {
		return nil, err
	}
	pre, post, _ := splitFormat(cfg.sessionKey)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{client: client, cfg: cfg, dataPre: pre, dataPost: post, cancel: cancel, done: make(chan struct{})}
	go s.poll(ctx, min(max(cfg.window/10, time.Second), 30*time.Second)) // see sessionadapter.RevocationKeepFor
	return s, nil
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

// InFlightWindow is the store's in-flight window (WithInFlightWindow).
func (s *Store) InFlightWindow() time.Duration { return s.cfg.window }

// RevocationKeep implements sessionadapter.Windowed: the window plus two
// poll intervals, by which some replica's poller has run the second
// deletion (as long as one Store is running).
func (s *Store) RevocationKeep() time.Duration { return sessionadapter.RevocationKeepFor(s.cfg.window) }

// Close stops the poller of second deletions and waits for it. Entries
// still queued stay in Redis for the other replicas (or the next start).
func (s *Store) Close() error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
	})
	return nil
}

func (s *Store) poll(ctx context.Context, every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.EndDue(ctx); err != nil && ctx.Err() == nil {
			s.cfg.logger.WarnContext(ctx, "redisadapter: second deletion of ended sessions failed; retrying", slog.Any("error", err))
		}
	}
}

// EndDue runs the queued second deletions whose window has passed and
// reports how many logouts it finished. Every Store's poller calls it;
// call it yourself to run them now (a test with an injected clock).
// Running it twice, or on two replicas at once, deletes nothing twice.
func (s *Store) EndDue(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := endDueScript.Run(ctx, s.client, []string{s.cfg.prefix + "end:due"}, s.cfg.prefix,
			s.cfg.now().UnixMilli(), s.dataPre, s.dataPost, endDueBatch).Int()
		if err != nil {
			return total, fmt.Errorf("%w: end due: %w", ErrRedis, err)
		}
		total += n
		if n < endDueBatch {
			return total, nil
		}
	}
}

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
		b.Expires.UnixMilli(), b.Expires.Sub(now).Milliseconds(), now.UnixMilli(), b.LoginTime.UnixMilli()).Err()
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
// every session the logout names and queues their second deletion,
// atomically and in one round trip, and reports how many live sessions it
// ended.
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
	now := s.cfg.now()
	at := l.IssuedAt
	notAfter := "" // no iat: the login times cannot be compared, end them all
	if at.IsZero() {
		at = now
	} else {
		notAfter = strconv.FormatInt(at.UnixMilli(), 10)
	}
	res, err := endScript.Run(ctx, s.client, []string{start, s.cfg.prefix + "end:due"}, s.cfg.prefix, l.Issuer, l.Subject, l.SessionID,
		endAll, s.dataPre, s.dataPost, now.UnixMilli(), at.UnixMilli(), now.Add(s.cfg.window).UnixMilli(), notAfter).Slice()
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
