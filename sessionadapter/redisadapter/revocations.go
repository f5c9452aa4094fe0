package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/mirror"
)

// defaultStreamLen caps the revocation stream (approximately): a replica
// further behind than this many revocations reloads the snapshot.
const defaultStreamLen = 100_000

// tailBatch is how many stream entries one read takes.
const tailBatch = 1000

// maxBlock caps the feed's blocking read.
const maxBlock = 500 * time.Millisecond

// sweepEvery is how often each replica forgets expired revocations, in
// its memory and in Redis.
const sweepEvery = 30 * time.Second

// revokeScript: KEYS set, expiries, stream, sequence. ARGV: field (the
// encoded logout), logout ms, until ms, stream cap. Merges the revocation
// into the set (latest logout time, longest keep), then appends the merged
// value to the stream under the next sequence number, so that a replica
// can tell a gap from the numbers it reads.
var revokeScript = redis.NewScript(`
local fld, at, untl = ARGV[1], ARGV[2], ARGV[3]
local cur = redis.call('HGET', KEYS[1], fld)
if cur then
  local a, u = string.match(cur, '^(%d+),(%d+)$')
  if tonumber(a) > tonumber(at) then at = a end
  if tonumber(u) > tonumber(untl) then untl = u end
end
local v = at .. ',' .. untl
redis.call('HSET', KEYS[1], fld, v)
redis.call('ZADD', KEYS[2], tonumber(untl), fld)
local seq = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'q', seq, 'f', fld, 'v', v)
return seq
`)

// markField is the field of the set that holds its loss mark, "id,floor":
// id is drawn when the mark is made, floor (Unix ms, 0 for none) is when
// a replica found the revocations lost. Revocation fields start with 's'
// or 'u', so it cannot clash. It lives in the set itself so that whatever
// removes the set (FLUSHALL, a restart without persistence, eviction)
// removes the mark with it.
const markField = "!mark"

// headScript: KEYS set, sequence, stream. ARGV: a fresh mark id. Returns
// the sequence number and the stream's last ID, read together (a snapshot
// of the set taken after it misses nothing the stream does not hold after
// that ID), and the loss mark, made (with no floor) if the set has none.
var headScript = redis.NewScript(`
local mark = redis.call('HGET', KEYS[1], '` + markField + `')
if not mark then
  mark = ARGV[1] .. ',0'
  redis.call('HSET', KEYS[1], '` + markField + `', mark)
end
local seq = redis.call('GET', KEYS[2]) or '0'
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
return {seq, id, mark}
`)

// lostScript: KEYS set. ARGV: a fresh mark id, now ms, the mark id the
// caller knew, the latest floor the caller knew (ms, 0 for none). Marks
// the set's revocations as lost as of now, unless another replica already
// did (after the loss, the mark it finds is not the caller's and has a
// floor later than the caller's): the floor only has to be no earlier
// than the loss. An older floor is a mark a restart from a snapshot
// brought back, whose loss predates the revocations the restart took
// back. Returns the mark.
var lostScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], '` + markField + `')
local mark = ARGV[1] .. ',' .. ARGV[2]
if cur then
  local id, floor = string.match(cur, '^([^,]*),(%d+)$')
  if id and id ~= ARGV[3] then
    if tonumber(floor) > tonumber(ARGV[4]) then mark = cur else mark = id .. ',' .. ARGV[2] end
  end
end
redis.call('HSET', KEYS[1], '` + markField + `', mark)
return mark
`)

// sweepScript: KEYS set, expiries. ARGV: now ms, limit. Forgets expired
// revocations (a keep extended since is left alone).
var sweepScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, fld in ipairs(due) do
  local cur = redis.call('HGET', KEYS[1], fld)
  if cur then
    local _, u = string.match(cur, '^(%d+),(%d+)$')
    if tonumber(u) <= tonumber(ARGV[1]) then redis.call('HDEL', KEYS[1], fld) end
  end
  redis.call('ZREM', KEYS[2], fld)
end
return #due
`)

// Revocations is a sessionadapter.Revocations shared by every replica
// that uses the same Redis and key prefix, checked without leaving the
// process.
//
// Revoke records the revocation in Redis (a hash of live revocations, an
// index of their expiries and a capped stream of changes, in one script),
// and in this replica's memory at once. A background loop keeps the
// memory of every replica up to date: at start (and after a gap) it loads
// the hash, then it tails the stream with a blocking read. Revoked reads
// only the memory: a guarded request makes no Redis call.
//
// The loop marks when it last heard everything Redis held; when that is older
// than the staleness bound (WithMaxStaleness), Revoked fails with
// sessionadapter.ErrStale instead of answering from a view that may miss a
// revocation, so a revocation accepted by any replica is enforced by every
// replica within the bound, or that replica fails closed. When Redis comes back
// the loop resumes from the last entry it read, so nothing recorded meanwhile
// is lost; a replica that fell further behind than the stream keeps (100,000
// revocations) reloads the hash, failing closed past the bound until it has (it
// is behind). A load's data counts as current from the read of the stream after
// it, so however many revocations there are and however long the load takes,
// the replica is fresh when Wait returns; and a running replica that reloads
// after a loss (below) keeps serving meanwhile.
//
// Redis can lose the revocations: FLUSHALL, a restart without
// persistence, an allkeys-* eviction policy. The set holds a mark that
// goes with it; a replica whose feed finds the mark gone, or replaced,
// logs the loss at Error and marks the revocations lost as of then, and
// every replica (one started later too) then ends every session logged in
// before that time: users sign in again, and no lost revocation can let a
// logged-out session back. That time is read on the replica's clock and
// logins are dated on the OP's, so it is dated by the one rule for an
// RP-clock instant (the latest the OP's clock may read then, a minute
// ahead): the cost, failing closed, is that logins within a minute after
// the loss are ended too. A loss that keeps the mark (a restart from an
// older snapshot, a failover to a replica that lagged) is told by the
// sequence of revocations going back, which the feed reads with the mark,
// and handled the same way. A loss while no replica runs cannot be told
// from a new Redis, and a replica started after a loss enforces it only
// once a running one has noticed (within one feed read): give Redis
// persistence and maxmemory-policy noeviction (or volatile-*, which
// spares these keys); the feed warns at start under allkeys-*.
//
// Memory: each replica keeps the live revocations in a
// sessionadapter.NewMemoryRevocations (about 200 bytes each, see the README);
// Redis keeps each in the hash and the expiry index until it expires, and
// in the stream until trimmed. Every 30 s each replica forgets the expired
// ones in its memory and sweeps them from Redis.
// All keys share the prefix's hash tag, so a cluster keeps them in one
// slot; plain and Sentinel clients work as they are.
//
// Close stops the loop.
type Revocations struct {
	client redis.UniversalClient
	cfg    config
	local  *mirror.Mirror // the replica's copy of the revocations, which its pages watch
	keys   revKeys
	// epoch is the clock's reading at start. Freshness is measured as
	// time since epoch, so time.Now's monotonic reading makes it immune to
	// wall-clock steps (NTP, a restored VM); with an injected clock that
	// has none, a step back makes the view stale rather than fresh.
	epoch    time.Time
	lastSync atomic.Int64 // since(epoch) when the loop last knew all of Redis; neverSynced: never
	// floor is the loss floor (Unix ms on the OP's clock, 0 for none):
	// every session logged in at or before it is revoked, because Redis
	// lost the revocations recorded until then. Only the feed writes it.
	floor atomic.Int64
	// markID is the loss mark's id the feed knows; lossFound is the
	// instant the mark's loss was found, on the clock of the replica that
	// found it (Unix ms, 0 for none). The feed's goroutine only.
	markID    string
	lossFound int64
	synced    chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	once      sync.Once
}

type revKeys struct{ set, exp, log, seq string }

var (
	_ sessionadapter.Revocations = (*Revocations)(nil)
	_ sessionadapter.Watchable   = (*Revocations)(nil)
)

// NewRevocations returns Revocations over client and starts the loop that feeds
// this replica's memory; Close stops it. Until the loop's first load, Revoked
// fails with sessionadapter.ErrStale; Wait blocks until it is done. With a
// cluster client the prefix must hold a hash tag, and the client must read
// masters: one with ReadOnly, RouteRandomly or RouteByLatency (a failover
// cluster client's ReplicaOnly included) is refused, since the feed must read
// where Revoke writes.
func NewRevocations(client redis.UniversalClient, opts ...Option) (*Revocations, error) {
	if client == nil {
		return nil, errs.Config("redisadapter", "nil redis client")
	}
	if err := readsMasters(client); err != nil {
		return nil, err
	}
	cfg, err := newConfig(ctorRevocations, opts, sharded(client))
	if err != nil {
		return nil, err
	}
	local, err := mirror.New(cfg.now)
	if err != nil {
		return nil, err
	}
	p := cfg.prefix
	r := &Revocations{
		client: client, cfg: cfg, local: local,
		keys:   revKeys{set: p + "rev:set", exp: p + "rev:exp", log: p + "rev:log", seq: p + "rev:seq"},
		synced: make(chan struct{}), done: make(chan struct{}),
		epoch: cfg.now(),
	}
	r.lastSync.Store(neverSynced)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
	return r, nil
}

// readsMasters refuses a cluster client that routes read-only commands
// (XREAD, HSCAN) to replicas: Revoke's script runs on the master, and a
// replica lags it, or answers on while its master link is down, so the
// feed would miss revocations and still look fresh. Reading where the
// writes go is what makes the staleness bound mean anything. (A plain
// client connected to a replica fails Revoke with READONLY, loudly.)
func readsMasters(client redis.UniversalClient) error {
	c, ok := client.(*redis.ClusterClient)
	if !ok {
		return nil
	}
	if o := c.Options(); o.ReadOnly || o.RouteRandomly || o.RouteByLatency {
		return errs.Config("redisadapter", "a cluster client that reads replicas (ReadOnly, RouteRandomly, RouteByLatency, or a failover client's ReplicaOnly) cannot feed revocations written to the master: give NewRevocations a client that reads masters")
	}
	return nil
}

// Close stops the feed and waits for it; Revoked then fails with
// sessionadapter.ErrStale once the bound has passed.
func (r *Revocations) Close() error {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
	return nil
}

// Wait blocks until the replica has loaded the revocations once and read
// the stream after them, so that it is fresh, or ctx ends. Call it at
// start-up before serving, or let the guard answer 503 meanwhile.
func (r *Revocations) Wait(ctx context.Context) error {
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Changed implements sessionadapter.Watchable: it fires for revocations
// recorded by any replica, as the feed learns them.
func (r *Revocations) Changed() <-chan struct{} { return r.local.Changed() }

// Revoke implements sessionadapter.Revocations in one round trip. The
// revocation is enforced by this replica at once, even when Redis fails
// (the error then says Redis failed, and the OP's retry records it for
// the others).
func (r *Revocations) Revoke(ctx context.Context, l sessionadapter.Logout, keepFor time.Duration) error {
	now := r.cfg.now()
	if l.IssuedAt.IsZero() {
		l.IssuedAt = now // dated once, alike in memory and in the database
	}
	// The copy in memory checks the arguments and ctx first, as every
	// Revocations does (sessionadapter.Revocations.Revoke).
	if err := r.local.Revoke(ctx, l, keepFor); err != nil {
		return err
	}
	err := revokeScript.Run(ctx, r.client, []string{r.keys.set, r.keys.exp, r.keys.log, r.keys.seq},
		encodeLogout(l), l.IssuedAt.UnixMilli(), now.Add(keepFor).UnixMilli(), r.cfg.streamLen).Err()
	if err != nil {
		return fmt.Errorf("%w: revoke: %w", errRedis, err)
	}
	return nil
}

// Revoked implements sessionadapter.Revocations from memory, without allocating
// or calling Redis. It fails with sessionadapter.ErrStale when the replica's
// view may be older than the staleness bound.
func (r *Revocations) Revoked(ctx context.Context, b sessionadapter.Binding) (bool, error) {
	last := r.lastSync.Load()
	// A negative age is a clock that went back: the view's age is
	// unknown, so it is stale until the next sync.
	if age := r.since() - last; last == neverSynced || age < 0 || age > int64(r.cfg.maxStale) {
		return false, sessionadapter.ErrStale
	}
	if f := r.floor.Load(); f > 0 && b.LoginTime.UnixMilli() <= f {
		return true, nil // Redis lost the revocations of its time
	}
	return r.local.Revoked(ctx, b)
}

// encodeLogout is the hash field of a revocation: its kind, then each
// string with its length, so that any bytes decode back unambiguously.
func encodeLogout(l sessionadapter.Logout) string {
	var b strings.Builder
	if l.SessionID != "" {
		b.WriteByte('s')
	} else {
		b.WriteByte('u')
	}
	for _, s := range []string{l.Issuer, l.Subject, l.SessionID} {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

var errBadEntry = errors.New("redisadapter: malformed revocation entry")

func decodeLogout(s string) (sessionadapter.Logout, error) {
	if s == "" || (s[0] != 's' && s[0] != 'u') {
		return sessionadapter.Logout{}, errBadEntry
	}
	var parts [3]string
	rest := s[1:]
	for i := range parts {
		c := strings.IndexByte(rest, ':')
		if c < 0 {
			return sessionadapter.Logout{}, errBadEntry
		}
		n, err := strconv.Atoi(rest[:c])
		if err != nil || n < 0 || n > len(rest)-c-1 {
			return sessionadapter.Logout{}, errBadEntry
		}
		parts[i], rest = rest[c+1:c+1+n], rest[c+1+n:]
	}
	if rest != "" {
		return sessionadapter.Logout{}, errBadEntry
	}
	return sessionadapter.Logout{Issuer: parts[0], Subject: parts[1], SessionID: parts[2]}, nil
}

// apply merges one revocation read from Redis into memory. A malformed
// one is logged and skipped (no replica wrote it, and it names nothing
// to enforce); an error is the feed's context ending, which stops the
// read: a cancelled read is not a malformed revocation.
func (r *Revocations) apply(ctx context.Context, fld, val string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l, until, err := decodeEntry(fld, val)
	if err != nil {
		r.cfg.logger.ErrorContext(ctx, "redisadapter: skipping a malformed revocation", slog.Any("error", err))
		return nil
	}
	keep := until.Sub(r.cfg.now())
	if keep <= 0 {
		return nil // expired: nothing to enforce
	}
	return r.local.Revoke(ctx, l, keep)
}

// decodeEntry decodes a revocation read from Redis: its field, and its
// value "at,until" in Unix ms.
func decodeEntry(fld, val string) (sessionadapter.Logout, time.Time, error) {
	l, err := decodeLogout(fld)
	if err != nil {
		return l, time.Time{}, err
	}
	at, until, ok := strings.Cut(val, ",")
	if !ok {
		return l, time.Time{}, errBadEntry
	}
	atMS, err1 := strconv.ParseInt(at, 10, 64)
	untilMS, err2 := strconv.ParseInt(until, 10, 64)
	if err1 != nil || err2 != nil {
		return l, time.Time{}, errBadEntry
	}
	l.IssuedAt = time.UnixMilli(atMS)
	if err := l.Validate(); err != nil {
		return l, time.Time{}, fmt.Errorf("%w: %w", errBadEntry, err)
	}
	return l, time.UnixMilli(untilMS), nil
}

// readResult says where a read of the feed left the replica.
type readResult uint8

const (
	caughtUp readResult = iota // it read all the stream held when the read began
	behind                     // a full batch: more to read at once
	gap                        // entries were trimmed before it read them: reload
	lost                       // Redis lost revocations (the floor ends what they ended): reload
)

// run is the feed: load, then tail until ctx ends, reloading after a gap
// or a loss and backing off while Redis fails.
func (r *Revocations) run(ctx context.Context) {
	defer close(r.done)
	var (
		seq       int64
		lastID    string
		reload    = true
		afterLoss bool
		res       readResult
		backoff   time.Duration
		sweep     = time.Now()
	)
	// A healthy feed hears from Redis at least every block, well within
	// the bound. go-redis cannot interrupt a blocking read, so block also
	// bounds how long Close waits.
	block := min(r.cfg.maxStale/4, maxBlock)
	for ctx.Err() == nil {
		var err error
		if reload {
			// The stream holds what came after the load's snapshot: the
			// load returns behind, so that it is read without waiting and
			// the replica is fresh as of now, not as of the snapshot.
			seq, lastID, res, err = r.load(ctx, afterLoss)
		} else {
			wait := block
			if res == behind {
				wait = -1 // no BLOCK: what is there, at once
			}
			seq, lastID, res, err = r.tail(ctx, seq, lastID, wait)
		}
		if err == nil {
			reload, afterLoss = res == gap || res == lost, res == lost
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 10*time.Millisecond), block)
			r.cfg.logger.WarnContext(ctx, "redisadapter: revocation feed failed; retrying",
				slog.Duration("retry_in", backoff), slog.Any("error", err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if time.Since(sweep) > sweepEvery {
			sweep = time.Now()
			r.sweep(ctx)
		}
	}
}

// load reads the snapshot: the sequence and the stream's last ID, then
// the whole set. It does not make the replica fresh: the set may be read
// over seconds (a million revocations), and the replica is only known to
// be current once the stream after the snapshot is read too, by the
// tail's next read, which marks it fresh as of when that read began. So a
// long load delays Wait, never serving after it. It returns behind (the
// stream is read next, at once), or what a read of the stream during a
// reload after a loss found.
//
// A replica that was serving keeps the staleness mark of its last read
// meanwhile, so a reload after a gap (the replica fell behind) fails
// closed once that is older than the bound, as it should. A reload after
// a loss found within the bound (afterLoss, or found now) need not: the
// floor then ends every session logged in before OPDate(the snapshot),
// which is every session a revocation recorded before the snapshot can
// end (the OP dated it by then), read or not; and between pages of the
// set the feed reads the stream after the snapshot as the tail does, so
// the replica is fresh as of each read that comes back short. It costs
// little more than the loss itself (its floor ends the logins until a
// minute after it): the logins until a minute after the snapshot, a few
// seconds later, are ended too, fail closed. A loss found longer ago
// (another replica's, with this one's feed cut meanwhile) would end too
// many: that reload fails closed past the bound instead.
func (r *Revocations) load(ctx context.Context, afterLoss bool) (int64, string, readResult, error) {
	if r.markID == "" {
		r.warnEviction(ctx)
	}
	head, err := headScript.Run(ctx, r.client, []string{r.keys.set, r.keys.seq, r.keys.log}, newMarkID()).StringSlice()
	if err != nil {
		return 0, "", behind, fmt.Errorf("%w: revocation head: %w", errRedis, err)
	}
	if len(head) != 3 {
		return 0, "", behind, fmt.Errorf("%w: revocation head: %d values", errRedis, len(head))
	}
	lostNow, err := r.checkMark(ctx, head[2], true)
	if err != nil {
		return 0, "", behind, err
	}
	seq, err := strconv.ParseInt(head[0], 10, 64)
	if err != nil {
		return 0, "", behind, fmt.Errorf("%w: revocation sequence %q", errRedis, head[0])
	}
	lastID := head[1]
	// now is read after the head: the revocations the snapshot holds were
	// recorded before it.
	now := r.cfg.now()
	serve := (afterLoss || lostNow) && r.lossFound > 0 && now.UnixMilli()-r.lossFound <= r.cfg.maxStale.Milliseconds()
	if serve {
		// Kept until a load completes: an interrupted one may have made
		// the replica fresh on its strength.
		r.floor.Store(max(r.floor.Load(), defaults.OPDate(now).UnixMilli()))
	}
	var cursor uint64
	for {
		if serve {
			var res readResult
			if seq, lastID, res, err = r.tail(ctx, seq, lastID, -1); err != nil || res == gap || res == lost {
				return seq, lastID, res, err
			}
		}
		kv, next, err := r.client.HScan(ctx, r.keys.set, cursor, "*", 1000).Result()
		if err != nil {
			return 0, "", behind, fmt.Errorf("%w: revocation snapshot: %w", errRedis, err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == markField {
				continue
			}
			if err := r.apply(ctx, kv[i], kv[i+1]); err != nil {
				return 0, "", behind, err
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	// Memory holds the snapshot now: back to the loss's own floor.
	if r.lossFound > 0 {
		r.floor.Store(defaults.OPDate(time.UnixMilli(r.lossFound)).UnixMilli())
	}
	return seq, lastID, behind, nil
}

// tail reads the stream after lastID, blocking up to block (not at all
// if negative), and applies what it reads: a read that came back short
// makes the replica fresh as of when it began (it checked the loss mark
// and the sequence first, and read all the stream then held).
func (r *Revocations) tail(ctx context.Context, seq int64, lastID string, block time.Duration) (int64, string, readResult, error) {
	start := r.since()
	// The sequence with the mark, in one round trip: a restart from an
	// older snapshot keeps the mark but takes the sequence back, and the
	// next revocation, which would tell it too, may be hours away.
	var markCmd, seqCmd *redis.StringCmd
	_, _ = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		markCmd = p.HGet(ctx, r.keys.set, markField)
		seqCmd = p.Get(ctx, r.keys.seq)
		return nil
	})
	mark, err := markCmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return seq, lastID, behind, fmt.Errorf("%w: revocation mark: %w", errRedis, err)
	}
	if isLost, err := r.checkMark(ctx, mark, err == nil); err != nil || isLost {
		return seq, lastID, lost, err
	}
	stored, err := seqCmd.Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return seq, lastID, behind, fmt.Errorf("%w: revocation sequence: %w", errRedis, err)
	}
	if stored < seq {
		return seq, lastID, lost, r.wentBack(ctx, seq, stored)
	}
	res, err := r.client.XRead(ctx, &redis.XReadArgs{Streams: []string{r.keys.log, lastID}, Count: tailBatch, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		r.markSynced(start) // nothing new
		return seq, lastID, caughtUp, nil
	}
	if err != nil {
		return seq, lastID, behind, fmt.Errorf("%w: revocation feed: %w", errRedis, err)
	}
	full := false
	for _, st := range res {
		full = full || len(st.Messages) >= tailBatch
		for _, m := range st.Messages {
			q, qErr := strconv.ParseInt(fmt.Sprint(m.Values["q"]), 10, 64)
			if qErr == nil && q > 0 && q <= seq {
				return seq, lastID, lost, r.wentBack(ctx, seq, q)
			}
			if q != seq+1 {
				r.cfg.logger.WarnContext(ctx, "redisadapter: gap in the revocation feed; reloading",
					slog.Int64("want", seq+1), slog.Int64("got", q))
				return seq, lastID, gap, nil
			}
			fld, _ := m.Values["f"].(string)
			val, _ := m.Values["v"].(string)
			if err := r.apply(ctx, fld, val); err != nil {
				return seq, lastID, behind, err
			}
			seq, lastID = q, m.ID
		}
	}
	if full {
		// A full batch may have left some behind: the next read must
		// come first.
		return seq, lastID, behind, nil
	}
	r.markSynced(start)
	return seq, lastID, caughtUp, nil
}

// wentBack marks the loss that a sequence number got, at most the seq
// this replica read, tells: Redis lost writes that this replica read (a
// restart from an older snapshot, a failover to a replica that lagged).
// The mark survived with them, so only the sequence tells.
func (r *Revocations) wentBack(ctx context.Context, seq, got int64) error {
	r.cfg.logger.ErrorContext(ctx, "redisadapter: the revocation sequence went back",
		slog.Int64("read", seq), slog.Int64("got", got))
	_, err := r.markLost(ctx)
	return err
}

// checkMark compares the set's loss mark (found: present) with the one
// the feed knows. The same mark, or the feed's first, is adopted with its
// floor. A mark gone, or another in its place, means Redis lost the
// revocations since the feed last looked: it marks them lost as of now
// (unless another replica did), so that every replica, and every replica
// started later, ends the sessions logged in before the loss, which no
// lost revocation can then keep alive. lost tells the caller to reload.
func (r *Revocations) checkMark(ctx context.Context, mark string, found bool) (lost bool, err error) {
	id, floor, ok := parseMark(mark)
	if found && !ok {
		r.cfg.logger.ErrorContext(ctx, "redisadapter: malformed revocation mark; taking the revocations as lost", slog.String("mark", mark))
	}
	if found && ok && (r.markID == "" || id == r.markID) {
		r.markID = id
		r.raiseFloor(ctx, floor)
		return false, nil
	}
	return r.markLost(ctx)
}

// markLost marks the revocations lost as of now, unless another replica
// already marked this loss, and adopts the mark's floor. lost is true
// once it is marked: the caller reloads.
func (r *Revocations) markLost(ctx context.Context) (lost bool, err error) {
	now := r.cfg.now()
	mark, err := lostScript.Run(ctx, r.client, []string{r.keys.set}, newMarkID(), now.UnixMilli(), r.markID, r.lossFound).Text()
	if err != nil {
		return false, fmt.Errorf("%w: revocation mark: %w", errRedis, err)
	}
	id, floor, ok := parseMark(mark)
	if !ok {
		return false, fmt.Errorf("%w: revocation mark %q", errRedis, mark)
	}
	r.markID = id
	r.cfg.logger.ErrorContext(ctx, "redisadapter: Redis lost the revocations (FLUSHALL, a restart without persistence, or eviction); "+
		"every session logged in before the loss is ended: give Redis persistence and maxmemory-policy noeviction")
	r.raiseFloor(ctx, floor)
	return true, nil
}

// raiseFloor adopts a loss mark's floor, the instant (Unix ms, on the
// clock of the replica that found the loss) after which Redis holds every
// revocation. Logins are dated on the OP's clock, so the floor is dated
// by defaults.OPDate: a login the OP dated before the loss, by a clock
// ahead of that replica's, is ended too.
func (r *Revocations) raiseFloor(ctx context.Context, found int64) {
	if found <= r.lossFound {
		return
	}
	r.lossFound = found
	floor := defaults.OPDate(time.UnixMilli(found)).UnixMilli()
	// max keeps the higher floor of a reload after a loss (see load).
	r.floor.Store(max(r.floor.Load(), floor))
	r.cfg.logger.ErrorContext(ctx, "redisadapter: revocations were lost in Redis; ending every session logged in before the loss",
		slog.Time("loss_found_at", time.UnixMilli(found)), slog.Time("ends_logins_dated_until", time.UnixMilli(floor)))
	r.local.Notify()
}

func parseMark(mark string) (id string, floor int64, ok bool) {
	id, f, ok := strings.Cut(mark, ",")
	if !ok || id == "" {
		return "", 0, false
	}
	floor, err := strconv.ParseInt(f, 10, 64)
	return id, floor, err == nil && floor >= 0
}

func newMarkID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// warnEviction warns, once at start, when Redis may evict the
// revocations: an allkeys-* policy evicts keys without a TTL, such as the
// set of revocations. The loss mark makes such a loss visible, but only
// to a replica running when it happens. Best effort: managed Redis often
// refuses CONFIG.
func (r *Revocations) warnEviction(ctx context.Context) {
	cfg, err := r.client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return
	}
	if p := cfg["maxmemory-policy"]; strings.HasPrefix(p, "allkeys-") {
		r.cfg.logger.WarnContext(ctx, "redisadapter: Redis may evict the revocations under maxmemory-policy "+p+
			"; an evicted revocation lets its logged-out sessions back in until a running replica notices: use noeviction or a volatile-* policy",
			slog.String("maxmemory-policy", p))
	}
}

// neverSynced is lastSync before the first sync.
const neverSynced = math.MinInt64

// since is the time since r started, in nanoseconds, on the monotonic
// clock when the clock has one.
func (r *Revocations) since() int64 { return int64(r.cfg.now().Sub(r.epoch)) }

func (r *Revocations) markSynced(at int64) {
	for {
		old := r.lastSync.Load()
		// Forward only, so a slow read cannot make the view look older
		// than it is; except over a mark "in the future", left by a clock
		// that went back since, which would keep the view stale.
		if (at <= old && old <= r.since()) || r.lastSync.CompareAndSwap(old, at) {
			break
		}
	}
	select {
	case <-r.synced:
	default:
		close(r.synced)
	}
}

func (r *Revocations) sweep(ctx context.Context) {
	r.local.Sweep()
	for {
		n, err := sweepScript.Run(ctx, r.client, []string{r.keys.set, r.keys.exp}, r.cfg.now().UnixMilli(), 1000).Int()
		if err != nil {
			r.cfg.logger.WarnContext(ctx, "redisadapter: sweeping expired revocations failed", slog.Any("error", err))
			return
		}
		if n < 1000 {
			return
		}
	}
}
