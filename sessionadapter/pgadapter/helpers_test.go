package pgadapter_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
)

// urlEnv names the server scripts/with-postgres.sh starts; ctlEnv its
// stop/start script.
const (
	urlEnv = "BCLOGOUT_PG_URL"
	ctlEnv = "BCLOGOUT_PG_CTL"
)

const iss = "https://op.example"

var quiet = slog.New(slog.DiscardHandler)

// pgURL returns the server's URL. Without one the test skips, so that
// `go test` works on a bare machine; under CI it fails instead, so a
// broken setup cannot pass as a run of skipped tests.
func pgURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: run the tests under scripts/with-postgres.sh", urlEnv)
		}
		t.Skipf("%s is not set: run under scripts/with-postgres.sh for real PostgreSQL", urlEnv)
	}
	return u
}

// newPool returns a pool on the test server, closed when t ends.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// newSchema returns a fresh schema name, dropped with everything in it
// when t ends.
func newSchema(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	})
	return name
}

// mustExec runs sql on pool, failing t on error.
//
// A statement PostgreSQL picked as a deadlock's victim (40P01) is run
// again, as its operator would: DDL such as DROP SCHEMA locks the tables
// in its own order while a replica reads them, and which of the two
// PostgreSQL aborts is not the test's to choose.
func mustExec(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		_, err := pool.Exec(context.Background(), sql, args...)
		var pgErr *pgconn.PgError
		if err != nil && errors.As(err, &pgErr) && pgErr.Code == "40P01" && attempt < 5 {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return
	}
}

// sessionTable is the shape of a session library's table.
type sessionTable struct {
	name, table, key, ddl string
	bytea                 bool
}

// sessionTables are the tables of scs's postgresstore and pgxstore, and of
// gorilla's pgstore, as their READMEs create them.
var sessionTables = []sessionTable{
	{name: "scs", table: "sessions", key: "token",
		ddl: `CREATE TABLE %s (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
CREATE INDEX ON %s (expiry)`},
	{name: "gorilla-pgstore", table: "http_sessions", key: "key", bytea: true,
		ddl: `CREATE TABLE %s (id BIGSERIAL PRIMARY KEY, key BYTEA, data BYTEA, created_on TIMESTAMPTZ DEFAULT NOW(),
modified_on TIMESTAMPTZ, expires_on TIMESTAMPTZ)`},
}

// harness builds a Store in a fresh schema, over a session table of
// shape st in it.
func harness(t *testing.T, pool *pgxpool.Pool, st sessionTable, opts ...pgadapter.Option) storetest.Harness {
	t.Helper()
	h, _ := harnessIn(t, pool, st, opts...)
	return h
}

// harnessIn is harness, which also returns the schema it made.
func harnessIn(t *testing.T, pool *pgxpool.Pool, st sessionTable, opts ...pgadapter.Option) (storetest.Harness, string) {
	t.Helper()
	schema := newSchema(t, pool)
	mustExec(t, pool, "CREATE SCHEMA "+schema)
	qt := schema + "." + st.table
	mustExec(t, pool, sprintfAll(st.ddl, qt))
	opts = append([]pgadapter.Option{pgadapter.WithSchema(schema), pgadapter.WithSessionTable(qt, st.key), pgadapter.WithLogger(quiet)}, opts...)
	s, err := pgadapter.New(pool, opts...)
	if err != nil {
		t.Fatal(err)
	}
	keyArg := func(id string) any {
		if st.bytea {
			return []byte(id)
		}
		return id
	}
	return storetest.Harness{
		Store: s,
		Create: func(t testing.TB, id string) {
			if st.bytea {
				mustExec(t, pool, "INSERT INTO "+qt+" (key, data) VALUES ($1, 'x')", keyArg(id))
				return
			}
			mustExec(t, pool, "INSERT INTO "+qt+" (token, data, expiry) VALUES ($1, 'x', now() + interval '1 hour') ON CONFLICT DO NOTHING", id)
		},
		Alive: func(t testing.TB, id string) bool {
			var n int
			if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+qt+" WHERE "+st.key+" = $1", keyArg(id)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		},
	}, schema
}

// sprintfAll puts s in place of every %s of format.
func sprintfAll(format, s string) string {
	out := []byte{}
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) && format[i+1] == 's' {
			out = append(out, s...)
			i++
			continue
		}
		out = append(out, format[i])
	}
	return string(out)
}

// newRevocations returns Revocations that have read the table once,
// closed when t ends.
func newRevocations(t testing.TB, pool *pgxpool.Pool, opts ...pgadapter.Option) *pgadapter.Revocations {
	t.Helper()
	opts = append([]pgadapter.Option{pgadapter.WithLogger(quiet)}, opts...)
	r, err := pgadapter.NewRevocations(pool, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("revocations never loaded: %v", err)
	}
	return r
}

// waitRevoked waits up to d for r to answer want for b, and reports
// whether it did.
func waitRevoked(r sessionadapter.Revocations, b sessionadapter.Binding, want bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		got, err := r.Revoked(context.Background(), b)
		if err == nil && got == want {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pgctl stops or starts the test server (scripts/with-postgres.sh).
func pgctl(t testing.TB, action string) {
	t.Helper()
	ctl := os.Getenv(ctlEnv)
	if ctl == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: run the tests under scripts/with-postgres.sh", ctlEnv)
		}
		t.Skipf("%s is not set: this test stops its own server (scripts/with-postgres.sh)", ctlEnv)
	}
	if out, err := exec.Command(ctl, action).CombinedOutput(); err != nil {
		t.Fatalf("pgctl %s: %v\n%s", action, err, out)
	}
}
