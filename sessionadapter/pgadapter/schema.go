package pgadapter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// errDB prefixes the errors of failed PostgreSQL calls (unavailable,
// timed out, or refused), wrapping the cause. Each operation is one
// statement or one transaction, so it changed nothing or everything and
// is safe to retry.
var errDB = errors.New("pgadapter: postgresql failed")

// ddl is the schema the adapter creates on first use, every statement
// idempotent; doc.go prints it for schema "public". S is the quoted
// schema. Changes to it may only add (a column with a default, an index,
// a table), so that replicas of two versions can share one database
// during a rolling upgrade.
func ddl(schema string) string {
	s := pgx.Identifier{schema}.Sanitize()
	var b strings.Builder
	if schema != defaultSchema {
		b.WriteString("CREATE SCHEMA IF NOT EXISTS " + s + ";\n")
	}
	b.WriteString(strings.ReplaceAll(ddlTables, "S.", s+"."))
	return b.String()
}

const ddlTables = `CREATE TABLE IF NOT EXISTS S.bclogout_bindings (
  local_id   text PRIMARY KEY,
  iss        text NOT NULL,
  sub        text NOT NULL,
  sid        text NOT NULL,
  login_ms   bigint NOT NULL,
  expires_ms bigint NOT NULL,
  id_token   text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS bclogout_bindings_sid ON S.bclogout_bindings (iss, sid) WHERE sid <> '';
CREATE INDEX IF NOT EXISTS bclogout_bindings_sub ON S.bclogout_bindings (iss, sub) WHERE sub <> '';
CREATE INDEX IF NOT EXISTS bclogout_bindings_expires ON S.bclogout_bindings (expires_ms);
CREATE SEQUENCE IF NOT EXISTS S.bclogout_revocations_seq;
CREATE TABLE IF NOT EXISTS S.bclogout_revocations (
  iss      text NOT NULL,
  sub      text NOT NULL,
  sid      text NOT NULL,
  at_ms    bigint NOT NULL,
  until_ms bigint NOT NULL,
  seq      bigint NOT NULL,
  PRIMARY KEY (iss, sub, sid)
);
CREATE INDEX IF NOT EXISTS bclogout_revocations_seq ON S.bclogout_revocations (seq);
CREATE INDEX IF NOT EXISTS bclogout_revocations_until ON S.bclogout_revocations (until_ms);
CREATE TABLE IF NOT EXISTS S.bclogout_replay (
  pair     text PRIMARY KEY,
  until_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS bclogout_replay_until ON S.bclogout_replay (until_ms);
`

// schema creates the adapter's tables on first use, and again after a
// call finds them gone (a dropped table or schema).
type schema struct {
	pool *pgxpool.Pool
	name string
	q    string // the quoted schema, "S"

	mu   sync.Mutex
	done bool
}

func newSchema(pool *pgxpool.Pool, name string) *schema {
	return &schema{pool: pool, name: name, q: pgx.Identifier{name}.Sanitize()}
}

// table returns the quoted name of one of the adapter's tables.
func (s *schema) table(name string) string { return s.q + "." + name }

// ensure runs the DDL once. The statements run in one transaction under
// an advisory lock: two replicas starting together would otherwise race
// in CREATE TABLE IF NOT EXISTS, which can fail on the catalog's unique
// index.
func (s *schema) ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "bclogout:schema:"+s.name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl(s.name))
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: creating the schema: %w", errDB, err)
	}
	s.done = true
	return nil
}

// check notes a call's error: a table or schema that is gone is created
// again by the next ensure. It returns err.
func (s *schema) check(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined_table, invalid_schema_name
		s.mu.Lock()
		s.done = false
		s.mu.Unlock()
	}
	return err
}

// channel is the NOTIFY channel of the schema's revocations: channels
// are database-wide, and names are capped at 63 bytes.
func channel(schema string) string {
	h := sha256.Sum256([]byte(schema))
	return "bclogout_rev_" + hex.EncodeToString(h[:8])
}
