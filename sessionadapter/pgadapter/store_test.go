package pgadapter_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/replaytest"
	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
)

func TestStore(t *testing.T) {
	pool := newPool(t)
	for _, st := range sessionTables {
		t.Run(st.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Harness { return harness(t, pool, st) })
		})
	}
}

func TestRevocations(t *testing.T) {
	pool := newPool(t)
	storetest.RunRevocations(t, func(t *testing.T) sessionadapter.Revocations {
		return newRevocations(t, pool, pgadapter.WithSchema(newSchema(t, pool)))
	})
}

func TestReplayCache(t *testing.T) {
	pool := newPool(t)
	replaytest.Run(t, func(t *testing.T) replaytest.Harness {
		schema := newSchema(t, pool)
		clock := testclock.New(time.Now())
		c, err := pgadapter.NewReplayCache(pool, pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		other, err := pgadapter.NewReplayCache(pool, pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		return replaytest.Harness{Cache: c, Now: clock.Now, Advance: clock.Advance, Replica: other}
	})
}

// The replay table holds little more than the live window: every Record
// deletes a few expired rows.
func TestReplayCacheForgetsExpiredRows(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	clock := testclock.New(time.Now())
	c, err := pgadapter.NewReplayCache(pool, pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 100 {
		if err := c.Record(ctx, iss, string(rune('a'+i)), clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute)
	for i := range 20 {
		if err := c.Record(ctx, iss, "new"+string(rune('a'+i)), clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".bclogout_replay").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Fatalf("%d rows after 20 records past 100 expired ones, want the 20 live ones", n)
	}
}

// A logout whose sub is not its session's keeps that session, and says so
// at Warn without its local ID: with scs's sessions table, the session
// cookie.
func TestSubMismatchLogsNoLocalID(t *testing.T) {
	pool := newPool(t)
	var logs strings.Builder
	h := harness(t, pool, sessionTables[0], pgadapter.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	const token = "alices-scs-session-token"
	now := time.Now()
	if err := h.Store.Bind(t.Context(), sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "s1", LocalID: token, LoginTime: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.EndSessions(t.Context(), sessionadapter.Logout{Issuer: "https://op.example", Subject: "bob", SessionID: "s1", IssuedAt: now}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "session kept") {
		t.Fatalf("precondition: no mismatch logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the kept session's local ID is in the log:\n%s", logs.String())
	}
}

func TestNewInvalid(t *testing.T) {
	pool := &pgxpool.Pool{} // never used: construction does no I/O
	tests := []struct {
		name    string
		pool    *pgxpool.Pool
		opts    []pgadapter.Option
		wantErr error
	}{
		{name: "defaults", pool: pool},
		{name: "gorilla pgstore", pool: pool, opts: []pgadapter.Option{pgadapter.WithSessionTable("http_sessions", "key")}},
		{name: "qualified table", pool: pool, opts: []pgadapter.Option{pgadapter.WithSessionTable("app.sessions", "token")}},
		{name: "nil pool", wantErr: errs.ErrInvalidConfig},
		{name: "empty schema", pool: pool, opts: []pgadapter.Option{pgadapter.WithSchema("")}, wantErr: errs.ErrInvalidConfig},
		{name: "empty table", pool: pool, opts: []pgadapter.Option{pgadapter.WithSessionTable("", "token")}, wantErr: errs.ErrInvalidConfig},
		{name: "empty column", pool: pool, opts: []pgadapter.Option{pgadapter.WithSessionTable("sessions", "")}, wantErr: errs.ErrInvalidConfig},
		{name: "three-part table", pool: pool, opts: []pgadapter.Option{pgadapter.WithSessionTable("db.app.sessions", "token")}, wantErr: errs.ErrInvalidConfig},
		{name: "nil logger", pool: pool, opts: []pgadapter.Option{pgadapter.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil clock", pool: pool, opts: []pgadapter.Option{pgadapter.WithClock(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero option", pool: pool, opts: []pgadapter.Option{{}}, wantErr: errs.ErrInvalidConfig},
		{name: "option of NewRevocations", pool: pool, opts: []pgadapter.Option{pgadapter.WithMaxStaleness(time.Second)}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pgadapter.New(tt.pool, tt.opts...); !errors.Is(err, tt.wantErr) {
				t.Fatalf("New err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewRevocationsAndReplayCacheInvalid(t *testing.T) {
	pool := &pgxpool.Pool{}
	tests := []struct {
		name string
		new  func() error
	}{
		{name: "revocations: nil pool", new: func() error { _, err := pgadapter.NewRevocations(nil); return err }},
		{name: "revocations: staleness under 4ms", new: func() error {
			_, err := pgadapter.NewRevocations(pool, pgadapter.WithMaxStaleness(time.Millisecond))
			return err
		}},
		{name: "revocations: option of New", new: func() error {
			_, err := pgadapter.NewRevocations(pool, pgadapter.WithSessionTable("s", "k"))
			return err
		}},
		{name: "replay: nil pool", new: func() error { _, err := pgadapter.NewReplayCache(nil); return err }},
		{name: "replay: option of New", new: func() error {
			_, err := pgadapter.NewReplayCache(pool, pgadapter.WithLogger(quiet))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.new(); !errors.Is(err, errs.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// The package doc prints the DDL the adapter runs, so that an operator
// can run it as a migration instead: the two must not drift apart.
func TestDocPrintsTheSchema(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, line := range strings.Split(string(doc), "\n") {
		text.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "//"), "\t") + "\n")
	}
	for _, stmt := range strings.Split(pgadapter.DDL("public"), ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" && !strings.Contains(text.String(), stmt) {
			t.Errorf("doc.go does not print:\n%s", stmt)
		}
	}
}

// Tables dropped under a running store are created again by its next
// call: the schema is created on first use, and again when found gone.
func TestStoreRecreatesDroppedTables(t *testing.T) {
	pool := newPool(t)
	h, schema := harnessIn(t, pool, sessionTables[0])
	ctx := t.Context()
	b := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LocalID: "a1"}
	if err := h.Store.Bind(ctx, b); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "DROP TABLE "+schema+".bclogout_bindings")
	if err := h.Store.Bind(ctx, b); !errors.Is(err, pgadapter.ErrDB) {
		t.Fatalf("Bind on a dropped table: %v, want ErrDB", err)
	}
	if err := h.Store.Bind(ctx, b); err != nil {
		t.Fatalf("Bind after the table was dropped and its loss noticed: %v", err)
	}
}

// EndSessions deletes the bindings and the session rows in one
// transaction: when deleting the session rows fails (here a trigger
// refuses), no binding is gone either, and the retry ends it all.
func TestEndSessionsIsOneTransaction(t *testing.T) {
	pool := newPool(t)
	h, schema := harnessIn(t, pool, sessionTables[0])
	ctx := t.Context()
	hs := h.Store.(interface {
		IDTokenHint(ctx context.Context, localID string) (string, error)
	})
	h.Create(t, "a1")
	if err := h.Store.Bind(ctx, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LocalID: "a1", IDToken: "h.p.s"}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, `CREATE FUNCTION `+schema+`.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`)
	mustExec(t, pool, `CREATE TRIGGER refuse BEFORE DELETE ON `+schema+`.sessions FOR EACH ROW EXECUTE FUNCTION `+schema+`.refuse()`)
	l := sessionadapter.Logout{Issuer: iss, SessionID: "s1"}
	if _, err := h.Store.EndSessions(ctx, l); !errors.Is(err, pgadapter.ErrDB) {
		t.Fatalf("EndSessions with the session delete refused: %v, want ErrDB", err)
	}
	if got, err := hs.IDTokenHint(ctx, "a1"); err != nil || got != "h.p.s" || !h.Alive(t, "a1") {
		t.Fatalf("after a failed logout: binding hint %q (%v), session alive %v; want both kept", got, err, h.Alive(t, "a1"))
	}
	mustExec(t, pool, `DROP TRIGGER refuse ON `+schema+`.sessions`)
	if n, err := h.Store.EndSessions(ctx, l); err != nil || n != 1 {
		t.Fatalf("the retry: %d, %v; want 1 session ended", n, err)
	}
	if got, _ := hs.IDTokenHint(ctx, "a1"); got != "" || h.Alive(t, "a1") {
		t.Fatalf("after the retry: hint %q, session alive %v; want both gone", got, h.Alive(t, "a1"))
	}
}
