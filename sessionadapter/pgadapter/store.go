package pgadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/logid"
	"github.com/bclogout/bclogout/sessionadapter/internal/valid"
)

// sweepBatch is how many expired rows one write deletes on the side: a
// few per login or replay record keep the tables from growing, and so
// few rows lock nothing for long.
const sweepBatch = 16

// store is the sessionadapter.Store of New.
type store struct {
	pool     *pgxpool.Pool
	cfg      config
	schema   *schema
	bindings string
	sessions string // the quoted session table

	keyOnce sync.Mutex
	keyExpr string // how a local ID compares with the session key column, once known
}

var _ sessionadapter.Store = (*store)(nil)

// New returns a sessionadapter.Store in PostgreSQL over pool, shared by
// every replica that uses the same database and schema. Safe for
// concurrent use. It does no I/O (the schema is created on first use),
// and runs nothing in the background.
//
// Bind upserts a binding in one statement, replacing any with the same
// LocalID (a zero Expires means 30 days from now, the default session
// lifetime), and
// deletes a few expired bindings on the side; Unbind forgets one without
// deleting the session data. EndSessions deletes the bindings a logout
// names and their rows of the session table (WithSessionTable) in one
// statement, so one transaction: a logout that fails changed nothing,
// and the OP's retry ends what is left.
//
// It takes WithSchema, WithSessionTable, WithLogger and WithClock, and fails
// with an error wrapping bclogout.ErrInvalidConfig for a nil pool or a bad
// option.
func New(pool *pgxpool.Pool, opts ...Option) (sessionadapter.Store, error) {
	if pool == nil {
		return nil, errs.Config("pgadapter", "nil pool")
	}
	cfg, err := newConfig(ctorStore, opts)
	if err != nil {
		return nil, err
	}
	sc := newSchema(pool, cfg.schema)
	return &store{
		pool: pool, cfg: cfg, schema: sc,
		bindings: sc.table("bclogout_bindings"),
		sessions: pgx.Identifier(cfg.sessTable).Sanitize(),
	}, nil
}

// Bind records b, replacing any binding with the same LocalID. A zero
// b.Expires means 30 days from now, the default session lifetime (the
// session library's deadline, which Sessions.Stash sets, is the one way
// to say another).
func (s *store) Bind(ctx context.Context, b sessionadapter.Binding) error {
	if err := valid.Binding(b.Issuer, b.Subject, b.SessionID, b.LocalID); err != nil {
		return err
	}
	if err := s.schema.ensure(ctx); err != nil {
		return err
	}
	now := s.cfg.now()
	if b.Expires.IsZero() {
		b.Expires = now.Add(defaults.SessionLifetime)
	}
	batch := &pgx.Batch{}
	if b.Expires.After(now) {
		batch.Queue(`INSERT INTO `+s.bindings+` (local_id, iss, sub, sid, login_ms, expires_ms, id_token)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (local_id) DO UPDATE SET iss = EXCLUDED.iss, sub = EXCLUDED.sub, sid = EXCLUDED.sid,
  login_ms = EXCLUDED.login_ms, expires_ms = EXCLUDED.expires_ms, id_token = EXCLUDED.id_token`,
			b.LocalID, b.Issuer, b.Subject, b.SessionID, b.LoginTime.UnixMilli(), b.Expires.UnixMilli(), b.IDToken)
	} else {
		batch.Queue(`DELETE FROM `+s.bindings+` WHERE local_id = $1`, b.LocalID)
	}
	batch.Queue(`DELETE FROM `+s.bindings+` WHERE local_id IN (SELECT local_id FROM `+s.bindings+
		` WHERE expires_ms <= $1 ORDER BY expires_ms LIMIT `+fmt.Sprint(sweepBatch)+` FOR UPDATE SKIP LOCKED) AND expires_ms <= $1`, now.UnixMilli())
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("%w: bind: %w", errDB, s.schema.check(err))
	}
	return nil
}

// IDTokenHint returns the raw ID token bound with localID, for the
// id_token_hint of a sign-out, in one round trip; "" when the binding has
// none or is gone (expired or ended).
func (s *store) IDTokenHint(ctx context.Context, localID string) (string, error) {
	if err := s.schema.ensure(ctx); err != nil {
		return "", err
	}
	var v string
	err := s.pool.QueryRow(ctx, `SELECT id_token FROM `+s.bindings+` WHERE local_id = $1 AND expires_ms > $2`,
		localID, s.cfg.now().UnixMilli()).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("%w: id token hint: %w", errDB, s.schema.check(err))
	}
	return v, nil
}

// Unbind forgets the binding of localID in one statement, without
// deleting session data.
func (s *store) Unbind(ctx context.Context, localID string) error {
	if err := s.schema.ensure(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM `+s.bindings+` WHERE local_id = $1`, localID); err != nil {
		return fmt.Errorf("%w: unbind: %w", errDB, s.schema.check(err))
	}
	return nil
}

// EndSessions deletes the bindings of every session the logout names and
// those sessions' rows of the session table, in one statement (so one
// transaction), and reports how many live sessions it ended. With a sid
// and a sub, a binding of that sid with another sub is kept and logged;
// with an iat, a binding whose login is after it is a fresh login the
// logout spares.
func (s *store) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	if err := s.schema.ensure(ctx); err != nil {
		return 0, err
	}
	key, err := s.keyMatch(ctx)
	if err != nil {
		return 0, err
	}
	var notAfter *int64 // no iat: the login times cannot be compared, end them all
	if !l.IssuedAt.IsZero() {
		ms := l.IssuedAt.UnixMilli()
		notAfter = &ms
	}
	// $1 iss, $2 sid, $3 sub, $4 notAfter, $5 now.
	match := `iss = $1 AND sid = $2 AND sid <> '' AND ($3 = '' OR sub = '' OR sub = $3)`
	mismatch := `ARRAY(SELECT local_id FROM ` + s.bindings + ` WHERE iss = $1 AND sid = $2 AND $3 <> '' AND sub <> '' AND sub <> $3)`
	if l.SessionID == "" {
		match = `iss = $1 AND $2 = '' AND sub = $3 AND sub <> ''`
		mismatch = `ARRAY[]::text[]`
	}
	q := `WITH ended AS (
  DELETE FROM ` + s.bindings + ` WHERE ` + match + ` AND ($4::bigint IS NULL OR login_ms <= $4)
  RETURNING local_id, expires_ms
), data AS (
  DELETE FROM ` + s.sessions + ` WHERE ` + key + `
)
SELECT (SELECT count(*) FROM ended WHERE expires_ms > $5), ` + mismatch
	var n int64
	var mismatched []string
	err = s.pool.QueryRow(ctx, q, l.Issuer, l.SessionID, l.Subject, notAfter, s.cfg.now().UnixMilli()).Scan(&n, &mismatched)
	if err != nil {
		return 0, fmt.Errorf("%w: end sessions: %w", errDB, s.schema.check(err))
	}
	for _, id := range mismatched {
		s.cfg.logger.WarnContext(ctx, "pgadapter: logout sub does not match the session's; session kept",
			slog.String("iss", l.Issuer), slog.String("sid", l.SessionID), slog.String("local_id", logid.Of(id)))
	}
	return int(n), nil
}

// keyMatch returns the condition that picks the session rows of the
// ended bindings: the key column holds the local ID as text, or as its
// UTF-8 bytes in a bytea column (gorilla's pgstore); the column's type is
// read from the catalog once.
func (s *store) keyMatch(ctx context.Context) (string, error) {
	s.keyOnce.Lock()
	defer s.keyOnce.Unlock()
	if s.keyExpr != "" {
		return s.keyExpr, nil
	}
	var typ string
	err := s.pool.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`, s.sessions, s.cfg.sessKey).Scan(&typ)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w: the session table %s has no column %q", errDB, s.sessions, s.cfg.sessKey)
	}
	if err != nil {
		return "", fmt.Errorf("%w: reading the session table: %w", errDB, err)
	}
	id := "local_id"
	if typ == "bytea" {
		id = "convert_to(local_id, 'UTF8')"
	}
	s.keyExpr = pgx.Identifier{s.cfg.sessKey}.Sanitize() + " IN (SELECT " + id + " FROM ended)"
	return s.keyExpr, nil
}
