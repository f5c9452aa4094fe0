package pgadapter_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
)

// logBuffer is a logger whose output a test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// PostgreSQL loses the revocations under a running replica: a TRUNCATE,
// a dropped table or schema, or a restore of an older backup (which keeps
// the mark but takes the sequence back). The replica must not go on as
// if nothing happened: every replica, one started after the loss too,
// ends every session logged in before the loss was found (users sign in
// again; no logged-out session survives), and says so at Error.
func TestRevocationsLost(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, pool *pgxpool.Pool, schema string)
	}{
		{name: "truncate", lose: func(t *testing.T, pool *pgxpool.Pool, schema string) {
			mustExec(t, pool, "TRUNCATE "+schema+".bclogout_revocations")
		}},
		{name: "drop table", lose: func(t *testing.T, pool *pgxpool.Pool, schema string) {
			mustExec(t, pool, "DROP TABLE "+schema+".bclogout_revocations")
		}},
		{name: "drop schema", lose: func(t *testing.T, pool *pgxpool.Pool, schema string) {
			mustExec(t, pool, "DROP SCHEMA "+schema+" CASCADE")
		}},
		{name: "restore of an older backup", lose: func(t *testing.T, pool *pgxpool.Pool, schema string) {
			// The backup predates the revocations: the mark row is
			// there, the revocations and the sequence's advance are not.
			mustExec(t, pool, "DELETE FROM "+schema+".bclogout_revocations WHERE iss <> ''")
			mustExec(t, pool, "SELECT setval('"+schema+".bclogout_revocations_seq', 1, false)")
		}},
		{name: "restore, then more revocations than it took back", lose: func(t *testing.T, pool *pgxpool.Pool, schema string) {
			// Before any replica reads again, the sequence is past
			// where the running one read: only the row it read last
			// tells, gone though it had not expired.
			mustExec(t, pool, `DO $$ BEGIN
DELETE FROM `+schema+`.bclogout_revocations WHERE iss <> '';
PERFORM setval('`+schema+`.bclogout_revocations_seq', 1, false);
INSERT INTO `+schema+`.bclogout_revocations (iss, sub, sid, at_ms, until_ms, seq)
SELECT 'https://op.example', 'x', 'x' || i, 0, 99999999999999, nextval('`+schema+`.bclogout_revocations_seq') FROM generate_series(1, 10) AS i;
END $$`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			pool := newPool(t)
			schema := newSchema(t, pool)
			var logs logBuffer
			running := newRevocations(t, pool, pgadapter.WithSchema(schema), pgadapter.WithLogger(logs.logger()))
			login := time.Now().Add(-time.Hour)
			bob := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s-bob", LoginTime: login}
			// Another replica records the revocations, so that the running
			// one has read them from the table before the loss (a restore
			// of rows no replica read takes nothing any replica knew).
			writer := newRevocations(t, pool, pgadapter.WithSchema(schema))
			for i := range 3 { // the sequence moves past the restored one
				if err := writer.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s-bob", IssuedAt: login.Add(time.Duration(i+1) * time.Minute)}, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			if !waitRevoked(running, bob, true, 5*time.Second) {
				t.Fatal("the running replica never read the revocations")
			}
			// A session of a user nobody logged out, from before the loss.
			alice := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s-alice", LoginTime: login}
			if !waitRevoked(running, alice, false, 5*time.Second) {
				t.Fatal("before the loss, alice's session is revoked")
			}

			tt.lose(t, pool, schema)

			if !waitRevoked(running, alice, true, 10*time.Second) {
				t.Fatalf("the running replica did not end the sessions logged in before the loss; logs:\n%s", logs.String())
			}
			fresh := newRevocations(t, pool, pgadapter.WithSchema(schema))
			for _, r := range []*pgadapter.Revocations{running, fresh} {
				for _, b := range []sessionadapter.Binding{bob, alice} {
					if !waitRevoked(r, b, true, 10*time.Second) {
						t.Errorf("after the loss, %s's session is not ended", b.Subject)
					}
				}
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "lost") {
				t.Errorf("the running replica did not log the loss at Error:\n%s", logs.String())
			}
			// Logins dated more than the OP clock skew (a minute) after
			// the loss are unaffected (those within it are ended too: fail
			// closed), and revocations recorded after it are enforced.
			later := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s-new", LoginTime: time.Now().Add(2 * time.Minute)}
			for _, r := range []*pgadapter.Revocations{running, fresh} {
				if got, err := r.Revoked(ctx, later); err != nil || got {
					t.Errorf("login after the loss: Revoked = %v, %v; want false", got, err)
				}
			}
			// One loss, one mark: replicas that agree on it find no
			// further loss.
			var marks int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".bclogout_revocations WHERE iss = ''").Scan(&marks); err != nil {
				t.Fatal(err)
			}
			if marks != 1 {
				t.Errorf("%d loss marks in the table, want 1", marks)
			}
			if err := fresh.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s-new", IssuedAt: later.LoginTime.Add(time.Second)}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if !waitRevoked(running, later, true, 5*time.Second) {
				t.Error("a revocation recorded after the loss did not reach the running replica")
			}
		})
	}
}

// A replica whose table holds revocations and its mark, started again,
// finds no loss: sessions nobody logged out stay.
func TestRestartIsNoLoss(t *testing.T) {
	ctx := t.Context()
	pool := newPool(t)
	schema := newSchema(t, pool)
	first, err := pgadapter.NewRevocations(pool, pgadapter.WithSchema(schema), pgadapter.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "gone"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	_ = first.Close()
	var logs logBuffer
	again := newRevocations(t, pool, pgadapter.WithSchema(schema), pgadapter.WithLogger(logs.logger()))
	alice := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s", LoginTime: time.Now().Add(-time.Hour)}
	if got, err := again.Revoked(ctx, alice); err != nil || got {
		t.Errorf("Revoked = %v, %v; want false", got, err)
	}
	gone := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "gone", LoginTime: time.Now().Add(-time.Hour)}
	if got, err := again.Revoked(ctx, gone); err != nil || !got {
		t.Errorf("a revocation recorded before the restart: Revoked = %v, %v; want true", got, err)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a restart was logged as an error:\n%s", logs.String())
	}
}

// A replica whose clock is ahead of another's sweeps a revocation that has
// expired by its clock but not yet by the other's. That is no loss: the
// other replica, which read that row last, must not take it for a restore
// and end every session logged in so far.
func TestSweepByReplicaWithClockAheadIsNoLoss(t *testing.T) {
	ctx := t.Context()
	pool := newPool(t)
	schema := newSchema(t, pool)
	clock := testclock.New(time.Now())
	ahead := func() time.Time { return clock.Now().Add(10 * time.Second) }
	var logs logBuffer
	behind := newRevocations(t, pool, pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now),
		pgadapter.WithMaxStaleness(time.Hour), pgadapter.WithLogger(logs.logger()))
	sweeper := newRevocations(t, pool, pgadapter.WithSchema(schema), pgadapter.WithClock(ahead), pgadapter.WithMaxStaleness(time.Hour))
	login := clock.Now().Add(-time.Hour)
	carol := sessionadapter.Binding{Issuer: iss, Subject: "carol", SessionID: "s-carol", LoginTime: login}
	if err := sweeper.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s-carol", IssuedAt: login.Add(time.Minute)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !waitRevoked(behind, carol, true, 5*time.Second) {
		t.Fatal("the replica behind never read the revocation")
	}
	// Expired by the sweeper's clock, not yet by the other's.
	clock.Advance(65 * time.Second)
	sweeper.SweepNow(ctx)
	// A revocation read after the sweep shows the replica behind has read
	// the table since.
	dave := sessionadapter.Binding{Issuer: iss, Subject: "dave", SessionID: "s-dave", LoginTime: login}
	if err := sweeper.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s-dave", IssuedAt: login.Add(time.Minute)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if !waitRevoked(behind, dave, true, 5*time.Second) {
		t.Fatal("the replica behind never read the revocation after the sweep")
	}
	alice := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s-alice", LoginTime: login}
	if got, err := behind.Revoked(ctx, alice); err != nil || got {
		t.Errorf("a session nobody logged out: Revoked = %v, %v; want false; logs:\n%s", got, err, logs.String())
	}
}

// A restore of a backup taken after an earlier loss brings back that
// loss's mark, with its floor: a replica that finds it must not take it for
// another replica's mark of this loss, since the revocations the restore
// took back were recorded after that floor. Every replica, one started
// after the restore too, ends the sessions logged in before the restore.
func TestRestoreOfBackupWithOlderLossMark(t *testing.T) {
	ctx := t.Context()
	pool := newPool(t)
	schema := newSchema(t, pool)
	clock := testclock.New(time.Now())
	opts := []pgadapter.Option{pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now), pgadapter.WithMaxStaleness(24 * time.Hour)}
	var logs logBuffer
	running := newRevocations(t, pool, append(opts, pgadapter.WithLogger(logs.logger()))...)
	losses := func() int { return strings.Count(logs.String(), "PostgreSQL lost the revocations") }
	waitLosses := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); losses() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the running replica found %d losses, want %d; logs:\n%s", losses(), n, logs.String())
			}
		}
	}
	t0 := clock.Now()
	// A first loss, and a backup taken after it: the backup holds its mark.
	mustExec(t, pool, "TRUNCATE "+schema+".bclogout_revocations")
	waitLosses(1)
	mustExec(t, pool, "CREATE TABLE "+schema+".backup AS SELECT * FROM "+schema+".bclogout_revocations")
	var backupSeq int64
	if err := pool.QueryRow(ctx, "SELECT last_value FROM "+schema+".bclogout_revocations_seq").Scan(&backupSeq); err != nil {
		t.Fatal(err)
	}
	// A second loss, an hour later.
	clock.Advance(time.Hour)
	mustExec(t, pool, "TRUNCATE "+schema+".bclogout_revocations")
	waitLosses(2)
	// An hour later again, bob logs in and out.
	clock.Advance(time.Hour)
	bob := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s-bob", LoginTime: t0.Add(90 * time.Minute)}
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s-bob", IssuedAt: t0.Add(100 * time.Minute)}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	// The backup is restored: bob's revocation is gone, the first loss's
	// mark is back.
	mustExec(t, pool, `DO $$ BEGIN
DELETE FROM `+schema+`.bclogout_revocations;
INSERT INTO `+schema+`.bclogout_revocations SELECT * FROM `+schema+`.backup;
PERFORM setval('`+schema+`.bclogout_revocations_seq', `+fmt.Sprint(backupSeq)+`);
END $$`)
	waitLosses(3)
	fresh := newRevocations(t, pool, opts...)
	for name, r := range map[string]*pgadapter.Revocations{"running": running, "started after the restore": fresh} {
		if !waitRevoked(r, bob, true, 5*time.Second) {
			t.Errorf("%s replica: a session logged out before the restore is not ended; logs:\n%s", name, logs.String())
		}
	}
}
