package pgadapter_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
)

// A revocation recorded by one replica reaches another (its own pool),
// whether the notification arrives or not: the feed also reads by
// sequence every quarter of the bound.
func TestRevokeReachesOtherReplica(t *testing.T) {
	tests := []struct {
		name   string
		notify bool
	}{
		{name: "notified", notify: true},
		{name: "notification lost", notify: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := newPool(t)
			schema := newSchema(t, pool)
			a := newRevocations(t, pool, pgadapter.WithSchema(schema))
			b := newRevocations(t, newPool(t), pgadapter.WithSchema(schema), pgadapter.WithMaxStaleness(400*time.Millisecond))
			login := time.Now().Add(-time.Hour)
			alice := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LoginTime: login}
			l := sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "s1", IssuedAt: login.Add(time.Minute)}
			if tt.notify {
				if err := a.Revoke(t.Context(), l, time.Hour); err != nil {
					t.Fatal(err)
				}
			} else {
				// A row as Revoke writes it, with no NOTIFY: as if the
				// notification was lost with a connection.
				mustExec(t, pool, `INSERT INTO `+schema+`.bclogout_revocations (iss, sub, sid, at_ms, until_ms, seq)
VALUES ($1, $2, $3, $4, $5, nextval('`+schema+`.bclogout_revocations_seq'))`,
					l.Issuer, l.Subject, l.SessionID, l.IssuedAt.UnixMilli(), time.Now().Add(time.Hour).UnixMilli())
			}
			if !waitRevoked(b, alice, true, 5*time.Second) {
				t.Fatal("the other replica never enforced the revocation")
			}
		})
	}
}

// Revoke is an idempotent upsert: recording a logout again keeps the
// latest logout time and the longest keep, and both replicas agree.
func TestRevokeKeepsLatestAndLongest(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	clock := testclock.New(time.Now())
	a := newRevocations(t, pool, pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now), pgadapter.WithMaxStaleness(time.Hour))
	ctx := t.Context()
	t0 := clock.Now().Add(-time.Hour)
	l := sessionadapter.Logout{Issuer: iss, Subject: "alice", IssuedAt: t0}
	for _, step := range []struct {
		at   time.Time
		keep time.Duration
	}{{t0.Add(time.Minute), 2 * time.Hour}, {t0, time.Hour}, {t0.Add(time.Minute), time.Hour}} {
		l.IssuedAt = step.at
		if err := a.Revoke(ctx, l, step.keep); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var at, until int64
	if err := pool.QueryRow(ctx, `SELECT count(*), max(at_ms), max(until_ms) FROM `+schema+`.bclogout_revocations WHERE iss <> ''`).Scan(&n, &at, &until); err != nil {
		t.Fatal(err)
	}
	if n != 1 || at != t0.Add(time.Minute).UnixMilli() || until != clock.Now().Add(2*time.Hour).UnixMilli() {
		t.Fatalf("rows %d, at %v, until %v; want 1 row with the latest logout and the longest keep", n, time.UnixMilli(at), time.UnixMilli(until))
	}
	fresh := newRevocations(t, pool, pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now), pgadapter.WithMaxStaleness(time.Hour))
	login := sessionadapter.Binding{Issuer: iss, Subject: "alice", LoginTime: t0.Add(30 * time.Second)}
	for _, r := range []*pgadapter.Revocations{a, fresh} {
		if got, err := r.Revoked(ctx, login); err != nil || !got {
			t.Errorf("a login before the latest logout: Revoked = %v, %v; want true", got, err)
		}
	}
}

// Expired revocations are deleted from the table and no longer enforced
// from memory; live ones and the loss mark stay. (That memory gives the
// space back is internal/mirror's TestSweepForgetsExpired.)
func TestSweepDeletesExpiredRevocations(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	clock := testclock.New(time.Now())
	opts := []pgadapter.Option{pgadapter.WithSchema(schema), pgadapter.WithClock(clock.Now), pgadapter.WithMaxStaleness(time.Hour)}
	w := newRevocations(t, pool, opts...)
	ctx := t.Context()
	for i := range 2500 {
		keep := time.Minute
		if i%1000 == 0 {
			keep = time.Hour
		}
		if err := w.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: string(rune('a' + i))}, keep); err != nil {
			t.Fatal(err)
		}
	}
	// The replica checked has loaded every row before the clock jumps: a
	// feed applies a row as "keep what is left of it from now", so a row
	// still being applied while the test clock jumps two minutes would be
	// kept two minutes longer (with a real clock, microseconds).
	r := newRevocations(t, pool, opts...)
	clock.Advance(2 * time.Minute)
	r.SweepNow(ctx)
	var rows, marks int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE iss <> ''), count(*) FILTER (WHERE iss = '') FROM `+schema+`.bclogout_revocations`).Scan(&rows, &marks); err != nil {
		t.Fatal(err)
	}
	if rows != 3 || marks != 1 {
		t.Fatalf("after the sweep: %d revocations, %d marks; want the 3 live ones and the mark", rows, marks)
	}
	for i := range 2500 {
		b := sessionadapter.Binding{Issuer: iss, SessionID: string(rune('a' + i)), LoginTime: clock.Now().Add(-time.Hour)}
		if got, err := r.Revoked(ctx, b); err != nil || got != (i%1000 == 0) {
			t.Fatalf("revocation %d after the sweep: Revoked = %v, %v; want %v", i, got, err, i%1000 == 0)
		}
	}
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	newRevocations(t, pool, pgadapter.WithSchema(schema)).Close() // the schema exists; the pool has connected
	before := runtime.NumGoroutine()
	var closers []io.Closer
	for range 5 {
		r, err := pgadapter.NewRevocations(pool, pgadapter.WithSchema(schema), pgadapter.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		closers = append(closers, r)
	}
	for _, cl := range closers {
		_ = cl.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The guard's check allocates nothing.
func TestRevokedAllocs(t *testing.T) {
	pool := newPool(t)
	rev := newRevocations(t, pool, pgadapter.WithSchema(newSchema(t, pool)), pgadapter.WithMaxStaleness(time.Hour))
	ctx := context.Background()
	b := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LocalID: "l", LoginTime: time.Now()}
	if n := testing.AllocsPerRun(100, func() { _, _ = rev.Revoked(ctx, b) }); n != 0 {
		t.Fatalf("Revoked allocates %v times per call, want 0", n)
	}
}

// Until its first read, a replica fails closed; Wait returns once it is
// fresh.
func TestStaleUntilFirstRead(t *testing.T) {
	pool := newPool(t)
	r, err := pgadapter.NewRevocations(pool, pgadapter.WithSchema(newSchema(t, pool)), pgadapter.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	b := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LoginTime: time.Now()}
	if _, err := r.Revoked(context.Background(), b); !errors.Is(err, sessionadapter.ErrStale) {
		t.Fatalf("before the first read: Revoked err = %v, want ErrStale", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Revoked(context.Background(), b); err != nil || got {
		t.Fatalf("after Wait: Revoked = %v, %v; want false, nil", got, err)
	}
}

// A closed replica no longer hears of revocations: once the bound has
// passed it fails closed, as it does while the database is out of reach.
func TestStaleAfterClose(t *testing.T) {
	pool := newPool(t)
	clock := testclock.New(time.Now())
	r := newRevocations(t, pool, pgadapter.WithSchema(newSchema(t, pool)), pgadapter.WithClock(clock.Now), pgadapter.WithMaxStaleness(time.Second))
	b := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LoginTime: clock.Now().Add(-time.Hour)}
	if got, err := r.Revoked(t.Context(), b); err != nil || got {
		t.Fatalf("before Close: Revoked = %v, %v; want false, nil", got, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	if _, err := r.Revoked(t.Context(), b); !errors.Is(err, sessionadapter.ErrStale) {
		t.Fatalf("closed, past the bound: Revoked err = %v, want ErrStale", err)
	}
}

// Changed fires on every replica for a revocation any of them records, as
// its feed learns it, and when the table lost the revocations (the loss
// ends sessions no revocation did); a retried logout wakes no page.
func TestChangedFiresForRevocationsAndLoss(t *testing.T) {
	pool := newPool(t)
	schema := newSchema(t, pool)
	writer := newRevocations(t, pool, pgadapter.WithSchema(schema))
	reader := newRevocations(t, pool, pgadapter.WithSchema(schema))
	storetest.RunChanged(t, writer, reader, func() { mustExec(t, pool, "TRUNCATE "+schema+".bclogout_revocations") })
}
