package pgadapter

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/mirror"
)

// readBatch is how many revocations one read of the feed takes.
const readBatch = 1000

// maxBlock caps how long the feed waits for a notification between
// reads.
const maxBlock = 500 * time.Millisecond

// sweepEvery is how often each replica forgets expired revocations, in
// its memory and in PostgreSQL.
const sweepEvery = 30 * time.Second

// sweepGrace is how long after its expiry a revocation's row stays in the
// table. A replica tells a restore by the row it read last being gone
// before it expired by its own clock; a replica whose clock is ahead
// sweeps by its clock, so without this grace a clock difference of a few
// milliseconds between replicas would look like a restore to the one
// behind, and end every session logged in so far. Replica clocks up to a
// minute apart are tolerated; further apart, a sweep still looks like a
// restore, which fails closed.
const sweepGrace = time.Minute

// Revocations is a sessionadapter.Revocations shared by every replica
// that uses the same database and schema, checked without leaving the
// process.
//
// Revoke records the revocation in the table bclogout_revocations (an
// upsert keeping the latest logout time and the longest keep, numbered
// from a sequence) and NOTIFYs, in one transaction, and records it in
// this replica's memory at once. A background loop keeps the memory of
// every replica up to date: it LISTENs on a connection of its own, and on
// every notification, and at least every d/4 of the staleness bound d,
// reads the rows numbered after the last it read. The number is the
// catch-up cursor, not the notification: a notification lost with a
// connection loses nothing. Writers take an advisory lock until commit,
// so rows become visible in the order of their numbers and a reader can
// never skip one that commits late. Revoked reads only the memory: a
// guarded request makes no database call.
//
// The loop marks when it last read everything PostgreSQL held; when that is
// older than the staleness bound, Revoked fails with sessionadapter.ErrStale
// instead of answering from a view that may miss a revocation, so a revocation
// accepted by any replica is enforced by every replica within the bound, or
// that replica fails closed (a watchdog reads the clock every tick,
// min(bound/8, 100 ms), so that Revoked need not). When PostgreSQL comes back
// the loop resumes from its cursor, so nothing recorded meanwhile is lost.
//
// The revocations can be lost: a TRUNCATE, a dropped table or schema, a restore
// of an older backup. The table holds a mark row (empty issuer, sub and sid; a
// random id and a floor) that goes with it; a replica whose feed finds the mark
// gone or replaced, or the sequence behind its cursor (a restore keeps the mark
// but takes the sequence back), logs the loss at Error and marks the
// revocations lost as of then, and every replica (one started later too) then
// ends every session logged in before that time: users sign in again, and no
// lost revocation can let a logged-out session back. The time is on the
// replica's clock and logins are on the OP's, so it is dated by defaults.OPDate
// (a minute ahead): logins within a minute after the loss are ended too,
// failing closed. A restore is also told by the row the replica read last, gone
// before it expired, when revocations since have taken the sequence past the
// cursor again. A loss while no replica runs cannot be told from a new
// database.
//
// Memory: each replica keeps the live revocations in a
// sessionadapter.NewMemoryRevocations (about 200 bytes each); the table
// keeps each until a minute after it expires. Every 30 s each replica
// forgets the expired ones in its memory and deletes those rows, a
// thousand at a time.
//
// Close stops the loop.
type Revocations struct {
	pool   *pgxpool.Pool
	cfg    config
	schema *schema
	table  string
	seq    string
	chann  string
	local  *mirror.Mirror // the replica's copy of the revocations, which its pages watch
	// epoch is the clock's reading at start; freshness is measured as
	// time since epoch, so time.Now's monotonic reading makes it immune
	// to wall-clock steps.
	epoch    time.Time
	lastSync atomic.Int64 // since(epoch) when the loop last knew all of the table; neverSynced: never
	// stale is what Revoked reads: whether lastSync may be older than the
	// bound. Reading the clock costs more than the rest of the check
	// (50-90 ns on a VM, see BenchmarkInterleavedReplicaGuardCheck), so
	// the watchdog reads it, every tick, and sets stale once lastSync is
	// older than the bound less a tick: no later than the bound. staleMu
	// orders the watchdog's and markSynced's updates, so that a sync is
	// never overwritten by an older verdict.
	stale   atomic.Bool
	staleMu sync.Mutex
	tick    time.Duration
	// floor is the loss floor (Unix ms on the OP's clock, 0 for none):
	// every session logged in at or before it is revoked. Only the feed
	// writes it.
	floor atomic.Int64
	// The feed's goroutine only: the cursor (the highest number read),
	// the loss mark's id, and when its loss was found (Unix ms, 0: none).
	cursor    int64
	last      lastRow // the row read at the cursor
	markID    int64
	lossFound int64
	synced    chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the feed and the watchdog
	once      sync.Once
}

// lastRow is the key of the row the feed read last, and when it expires.
// Rows are only renumbered upwards and deleted once expired, so finding
// it gone before then, or numbered below the cursor, means the table went
// back: a restore, even one the sequence has since passed.
type lastRow struct {
	iss, sub, sid string
	until         int64 // Unix ms; 0: no row read
}

var (
	_ sessionadapter.Revocations = (*Revocations)(nil)
	_ sessionadapter.Watchable   = (*Revocations)(nil)
)

// NewRevocations returns Revocations over pool and starts the loop that
// feeds this replica's memory; Close stops it. The loop holds one of the
// pool's connections for LISTEN. Until its first read, Revoked fails with
// sessionadapter.ErrStale; Wait blocks until it is done. It takes WithSchema,
// WithMaxStaleness, WithLogger and WithClock.
func NewRevocations(pool *pgxpool.Pool, opts ...Option) (*Revocations, error) {
	if pool == nil {
		return nil, errs.Config("pgadapter", "nil pool")
	}
	cfg, err := newConfig(ctorRevocations, opts)
	if err != nil {
		return nil, err
	}
	local, err := mirror.New(cfg.now)
	if err != nil {
		return nil, err
	}
	sc := newSchema(pool, cfg.schema)
	r := &Revocations{
		pool: pool, cfg: cfg, schema: sc,
		table: sc.table("bclogout_revocations"), seq: sc.table("bclogout_revocations_seq"),
		chann: channel(cfg.schema), local: local,
		synced: make(chan struct{}), epoch: cfg.now(),
	}
	r.lastSync.Store(neverSynced)
	r.stale.Store(true)
	r.tick = min(cfg.maxStale/8, maxTick)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(2)
	go r.run(ctx)
	go r.watch(ctx)
	return r, nil
}

// Close stops the feed and waits for it; Revoked then fails with
// sessionadapter.ErrStale.
func (r *Revocations) Close() error {
	r.once.Do(func() {
		r.cancel()
		r.wg.Wait()
		// The watchdog is gone, so nothing would judge the view stale
		// again: a closed replica hears of no revocation, and fails
		// closed from now on.
		r.stale.Store(true)
	})
	return nil
}

// Wait blocks until the replica has read the revocations once, so that it
// is fresh, or ctx ends. Call it at start-up before serving, or let the
// guard answer 503 meanwhile.
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
// revocation is enforced by this replica at once, even when PostgreSQL
// fails (the error then says so, and the OP's retry records it for the
// others).
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
	if err := r.schema.ensure(ctx); err != nil {
		return err
	}
	// One batch is one implicit transaction: the lock is held until the
	// row commits, and the notification is sent at commit.
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtext($1))`, r.lockName())
	b.Queue(`INSERT INTO `+r.table+` AS t (iss, sub, sid, at_ms, until_ms, seq)
VALUES ($1, $2, $3, $4, $5, nextval('`+r.seq+`'))
ON CONFLICT (iss, sub, sid) DO UPDATE SET at_ms = GREATEST(t.at_ms, EXCLUDED.at_ms),
  until_ms = GREATEST(t.until_ms, EXCLUDED.until_ms), seq = EXCLUDED.seq`,
		l.Issuer, l.Subject, l.SessionID, l.IssuedAt.UnixMilli(), now.Add(keepFor).UnixMilli())
	b.Queue(`SELECT pg_notify($1, '')`, r.chann)
	if err := r.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%w: revoke: %w", errDB, r.schema.check(err))
	}
	return nil
}

func (r *Revocations) lockName() string { return "bclogout:revocations:" + r.cfg.schema }

// Revoked implements sessionadapter.Revocations from memory, without allocating
// or calling PostgreSQL. It fails with sessionadapter.ErrStale when the
// replica's view may be older than the staleness bound.
func (r *Revocations) Revoked(ctx context.Context, b sessionadapter.Binding) (bool, error) {
	if r.stale.Load() {
		return false, sessionadapter.ErrStale
	}
	if f := r.floor.Load(); f > 0 && b.LoginTime.UnixMilli() <= f {
		return true, nil // the database lost the revocations of its time
	}
	return r.local.Revoked(ctx, b)
}

// run is the feed: listen and read until ctx ends, backing off while
// PostgreSQL fails.
func (r *Revocations) run(ctx context.Context) {
	defer r.wg.Done()
	var backoff time.Duration
	block := min(r.cfg.maxStale/4, maxBlock)
	sweep := time.Now()
	for ctx.Err() == nil {
		err := r.listen(ctx, block, &sweep)
		if ctx.Err() != nil {
			return
		}
		backoff = min(max(2*backoff, 10*time.Millisecond), block)
		r.cfg.logger.WarnContext(ctx, "pgadapter: revocation feed failed; retrying",
			slog.Duration("retry_in", backoff), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// listen takes a connection out of the pool, LISTENs on it, then reads
// after every notification or block, until an error or ctx ends; the
// connection is closed then. LISTEN comes before the first read, so a
// revocation committed after that read is notified.
func (r *Revocations) listen(ctx context.Context, block time.Duration, sweep *time.Time) error {
	if err := r.schema.ensure(ctx); err != nil {
		return err
	}
	pc, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("%w: revocation feed: %w", errDB, err)
	}
	conn := pc.Hijack() // a LISTEN belongs to its connection: never back to the pool
	defer func() {
		// Bounded: a connection to a server that is gone must not hold
		// the feed (or Close) while it says goodbye.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{r.chann}.Sanitize()); err != nil {
		return fmt.Errorf("%w: revocation feed: %w", errDB, err)
	}
	for {
		full, err := r.read(ctx, conn)
		if err != nil {
			return err
		}
		if full {
			continue
		}
		if time.Since(*sweep) > sweepEvery {
			*sweep = time.Now()
			r.sweep(ctx)
		}
		wctx, cancel := context.WithTimeout(ctx, block)
		_, err = conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && wctx.Err() == nil:
			return fmt.Errorf("%w: revocation feed: %w", errDB, err)
		}
		drainNotifications(conn)
	}
}

// drainNotifications drops the notifications already received: the next
// read covers them all.
func drainNotifications(conn *pgx.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
	}
}

// read checks the loss mark and the sequence, then reads the revocations
// after the cursor, in one round trip. full means it read a whole batch:
// read again at once. A read that came back short makes the replica
// fresh as of when it began.
func (r *Revocations) read(ctx context.Context, conn *pgx.Conn) (full bool, err error) {
	start := r.since()
	// A read that hangs (a connection cut without a reset) would keep the
	// replica stale for good: past the bound it is abandoned, and the
	// connection with it.
	ctx, cancel := context.WithTimeout(ctx, r.cfg.maxStale)
	defer cancel()
	b := &pgx.Batch{}
	var (
		markID    int64
		markFloor int64
		markFound bool
		lastValue int64
		isCalled  bool
		n         int
		maxSeq    = r.cursor
		last      = r.last
		lastSeq   int64
		lastFound bool
	)
	b.Queue(markQuery(r.table)).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&markID, &markFloor)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		markFound = err == nil
		return err
	})
	b.Queue(`SELECT last_value, is_called FROM ` + r.seq).QueryRow(func(row pgx.Row) error {
		return row.Scan(&lastValue, &isCalled)
	})
	b.Queue(`SELECT seq FROM `+r.table+` WHERE iss = $1 AND sub = $2 AND sid = $3`, last.iss, last.sub, last.sid).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&lastSeq)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		lastFound = err == nil
		return err
	})
	b.Queue(`SELECT iss, sub, sid, at_ms, until_ms, seq FROM `+r.table+` WHERE seq > $1 AND iss <> '' ORDER BY seq LIMIT `+fmt.Sprint(readBatch), r.cursor).Query(func(rows pgx.Rows) error {
		var iss, sub, sid string
		var at, until, seq int64
		_, err := pgx.ForEachRow(rows, []any{&iss, &sub, &sid, &at, &until, &seq}, func() error {
			n++
			if seq > maxSeq {
				maxSeq, r.last = seq, lastRow{iss: iss, sub: sub, sid: sid, until: until}
			}
			return r.apply(ctx, iss, sub, sid, at, until)
		})
		return err
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return false, fmt.Errorf("%w: revocation feed: %w", errDB, r.schema.check(err))
	}
	if !isCalled {
		lastValue = 0
	}
	// The mark first: the rows were read after it, so a loss it does not
	// show happened after they were read, and the next read finds it.
	if markFound && markID == 0 {
		markFound = false // a zero id is no mark
	}
	switch {
	case !markFound && r.markID == 0:
		// The feed's first read of a new table: make the mark, and read
		// again.
		return true, r.makeMark(ctx)
	case !markFound || markID != r.markID && r.markID != 0:
		return true, r.markLost(ctx, "the revocation table lost its mark (TRUNCATE, DROP, or a restore)")
	case last.until > r.cfg.now().UnixMilli() && (!lastFound || lastSeq < r.cursor):
		// The row read last is gone though it had not expired, or
		// numbered back: the table went back (a restore), though the
		// sequence may have passed the cursor again since.
		r.cfg.logger.ErrorContext(ctx, "pgadapter: the revocation read last is gone or renumbered back",
			slog.Int64("read", r.cursor), slog.Bool("found", lastFound), slog.Int64("seq", lastSeq))
		return true, r.markLost(ctx, "the revocation table went back (a restore of an older backup)")
	case lastValue < r.cursor:
		// A restore of an older backup keeps the mark but takes the
		// sequence back: rows this replica read are gone.
		r.cfg.logger.ErrorContext(ctx, "pgadapter: the revocation sequence went back",
			slog.Int64("read", r.cursor), slog.Int64("sequence", lastValue))
		return true, r.markLost(ctx, "the revocation sequence went back (a restore of an older backup)")
	}
	r.markID = markID
	r.raiseFloor(ctx, markFloor)
	r.cursor = maxSeq
	if n >= readBatch {
		return true, nil
	}
	r.markSynced(start)
	return false, nil
}

// apply merges one revocation read from the table into memory. An error
// is the read's context ending.
func (r *Revocations) apply(ctx context.Context, iss, sub, sid string, atMS, untilMS int64) error {
	keep := time.UnixMilli(untilMS).Sub(r.cfg.now())
	if keep <= 0 {
		return nil // expired: nothing to enforce
	}
	l := sessionadapter.Logout{Issuer: iss, Subject: sub, SessionID: sid, IssuedAt: time.UnixMilli(atMS)}
	if l.Validate() != nil {
		return nil // no replica wrote it, and it names nothing to enforce
	}
	return r.local.Revoke(ctx, l, keep)
}

// makeMark makes the table's loss mark, with no floor, unless there is
// one.
func (r *Revocations) makeMark(ctx context.Context) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO `+r.table+` (iss, sub, sid, at_ms, until_ms, seq)
VALUES ('', '', '', 0, $1, $2) ON CONFLICT DO NOTHING`, int64(math.MaxInt64), newMarkID())
	if err != nil {
		return fmt.Errorf("%w: revocation mark: %w", errDB, r.schema.check(err))
	}
	return nil
}

// markLost marks the revocations lost as of now, unless another replica
// already marked this loss (the mark it finds is not the one this
// replica knew, and has a floor later than any this replica knows: the
// floor only has to be no earlier than the loss), adopts the mark's
// floor, and reads every row again.
func (r *Revocations) markLost(ctx context.Context, why string) error {
	now := r.cfg.now().UnixMilli()
	var id, floor int64
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, r.lockName()); err != nil {
			return err
		}
		var curID, curFloor int64
		err := tx.QueryRow(ctx, markQuery(r.table)).Scan(&curID, &curFloor)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		id, floor = newMarkID(), now
		if err == nil && curID != 0 && curID != r.markID {
			id = curID
			// Another replica's mark of this loss has a floor later than
			// any this replica knows; an older floor is a mark a restore
			// brought back, whose loss predates the revocations this one
			// took back.
			if curFloor > r.lossFound {
				floor = curFloor
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+r.table+` (iss, sub, sid, at_ms, until_ms, seq)
VALUES ('', '', '', $1, $2, $3) ON CONFLICT (iss, sub, sid) DO UPDATE SET at_ms = EXCLUDED.at_ms, seq = EXCLUDED.seq`,
			floor, int64(math.MaxInt64), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: revocation mark: %w", errDB, r.schema.check(err))
	}
	r.markID, r.cursor, r.last = id, 0, lastRow{}
	r.cfg.logger.ErrorContext(ctx, "pgadapter: PostgreSQL lost the revocations: "+why+
		"; every session logged in before the loss is ended")
	r.raiseFloor(ctx, floor)
	return nil
}

// raiseFloor adopts a loss mark's floor, the instant (Unix ms, on the
// clock of the replica that found the loss) after which the table holds
// every revocation, dated by defaults.OPDate since logins are dated on
// the OP's clock.
func (r *Revocations) raiseFloor(ctx context.Context, found int64) {
	if found <= r.lossFound {
		return
	}
	r.lossFound = found
	floor := defaults.OPDate(time.UnixMilli(found)).UnixMilli()
	r.floor.Store(max(r.floor.Load(), floor))
	r.cfg.logger.ErrorContext(ctx, "pgadapter: revocations were lost in PostgreSQL; ending every session logged in before the loss",
		slog.Time("loss_found_at", time.UnixMilli(found)), slog.Time("ends_logins_dated_until", time.UnixMilli(floor)))
	r.local.Notify()
}

// markQuery reads the loss mark: the one row with an empty issuer, sub
// and sid (no logout has an empty issuer), whose seq is its random id and
// at_ms its floor.
func markQuery(table string) string {
	return `SELECT seq, at_ms FROM ` + table + ` WHERE iss = '' AND sub = '' AND sid = ''`
}

// newMarkID draws a mark id: positive, so never zero (no mark).
func newMarkID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1
}

// neverSynced is lastSync before the first sync.
const neverSynced = math.MinInt64

// since is the time since r started, in nanoseconds, on the monotonic
// clock when the clock has one.
func (r *Revocations) since() int64 { return int64(r.cfg.now().Sub(r.epoch)) }

func (r *Revocations) markSynced(at int64) {
	r.staleMu.Lock()
	old := r.lastSync.Load()
	// Forward only, so a slow read cannot make the view look older than
	// it is; except over a mark "in the future", left by a clock that went
	// back since.
	if !(at <= old && old <= r.since()) {
		r.lastSync.Store(at)
	}
	r.judge()
	r.staleMu.Unlock()
	select {
	case <-r.synced:
	default:
		close(r.synced)
	}
}

// maxTick caps the watchdog's period.
const maxTick = 100 * time.Millisecond

// watch is the watchdog: every tick it judges whether the view is stale.
func (r *Revocations) watch(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(r.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.staleMu.Lock()
			r.judge()
			r.staleMu.Unlock()
		}
	}
}

// judge sets stale from lastSync and the clock: stale when the view will
// be older than the bound before the next tick, never synced, or of
// unknown age (a negative age is a clock that went back). Under staleMu.
func (r *Revocations) judge() {
	last := r.lastSync.Load()
	age := r.since() - last
	r.stale.Store(last == neverSynced || age < 0 || age > int64(r.cfg.maxStale-r.tick))
}

// sweep forgets expired revocations in memory, then deletes them from the
// table once expired for sweepGrace, a batch at a time so
// that no statement holds many row locks for long; rows another replica
// is sweeping are skipped, and a keep extended since is left alone (the
// outer condition is checked again on the locked row).
func (r *Revocations) sweep(ctx context.Context) {
	r.local.Sweep()
	for {
		tag, err := r.pool.Exec(ctx, `DELETE FROM `+r.table+` WHERE (iss, sub, sid) IN (
  SELECT iss, sub, sid FROM `+r.table+` WHERE until_ms <= $1 AND iss <> '' LIMIT `+fmt.Sprint(readBatch)+` FOR UPDATE SKIP LOCKED
) AND until_ms <= $1 AND iss <> ''`, r.cfg.now().Add(-sweepGrace).UnixMilli())
		if err != nil {
			r.cfg.logger.WarnContext(ctx, "pgadapter: sweeping expired revocations failed", slog.Any("error", err))
			return
		}
		if tag.RowsAffected() < readBatch {
			return
		}
	}
}
