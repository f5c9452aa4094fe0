package pgadapter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/replay"
)

// replayCache is the replay.Cache of NewReplayCache.
type replayCache struct {
	pool   *pgxpool.Pool
	schema *schema
	table  string
	now    func() time.Time
}

var _ replay.Cache = (*replayCache)(nil)

// NewReplayCache returns a replay.Cache in PostgreSQL over pool, shared
// by every replica that uses the same database and schema, for the jti
// check of Back-Channel Logout 1.0 §2.6 step 7. It does no I/O (the
// schema is created on first use). It takes WithSchema and WithClock.
//
// A pair is one row keyed by the hex SHA-256 of the issuer's length, the
// issuer and the jti, so its size is fixed and no byte of the key is
// chosen by whoever sent the token. Record inserts the row if absent (or
// expired), Seen reads it, each in one statement; every Record also
// deletes a few expired rows, locking them briefly, so the table holds
// little more than the live replay window.
func NewReplayCache(pool *pgxpool.Pool, opts ...Option) (replay.Cache, error) {
	if pool == nil {
		return nil, errs.Config("pgadapter", "nil pool")
	}
	cfg, err := newConfig(ctorReplay, opts)
	if err != nil {
		return nil, err
	}
	sc := newSchema(pool, cfg.schema)
	return &replayCache{pool: pool, schema: sc, table: sc.table("bclogout_replay"), now: cfg.now}, nil
}

func pairKey(issuer, jti string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(issuer)))
	h.Write(n[:])
	h.Write([]byte(issuer))
	h.Write([]byte(jti))
	return hex.EncodeToString(h.Sum(nil))
}

// Seen reports whether the pair's row exists and its until has not
// passed.
func (c *replayCache) Seen(ctx context.Context, issuer, jti string) (bool, error) {
	if err := c.schema.ensure(ctx); err != nil {
		return false, err
	}
	var ok bool
	err := c.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+c.table+` WHERE pair = $1 AND until_ms > $2)`,
		pairKey(issuer, jti), c.now().UnixMilli()).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("%w: seen: %w", errDB, c.schema.check(err))
	}
	return ok, nil
}

// Record inserts the pair's row until until, rounded up to the
// millisecond, unless a live one is there; an until that has passed
// records nothing.
func (c *replayCache) Record(ctx context.Context, issuer, jti string, until time.Time) error {
	now := c.now()
	if !until.After(now) {
		return nil
	}
	if err := c.schema.ensure(ctx); err != nil {
		return err
	}
	untilMS := until.UnixMilli()
	if time.UnixMilli(untilMS).Before(until) {
		untilMS++
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO `+c.table+` AS t (pair, until_ms) VALUES ($1, $2)
ON CONFLICT (pair) DO UPDATE SET until_ms = EXCLUDED.until_ms WHERE t.until_ms <= $3`,
		pairKey(issuer, jti), untilMS, now.UnixMilli())
	b.Queue(`DELETE FROM `+c.table+` WHERE pair IN (SELECT pair FROM `+c.table+
		` WHERE until_ms <= $1 ORDER BY until_ms LIMIT `+fmt.Sprint(sweepBatch)+` FOR UPDATE SKIP LOCKED) AND until_ms <= $1`, now.UnixMilli())
	if err := c.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%w: record: %w", errDB, c.schema.check(err))
	}
	return nil
}
