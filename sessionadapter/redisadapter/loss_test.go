package redisadapter_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
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

// TestRevocationsLostOnFlush: Redis loses every revocation (FLUSHALL, a
// restart without persistence, eviction). A replica must not go on as if
// nothing happened: every replica ends every session logged in before the
// loss was found (users sign in again; no logged-out session survives),
// and says so at Error.
func TestRevocationsLostOnFlush(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	client := clientsOf(t, m)
	var logs logBuffer
	running := newRevocations(t, client(), redisadapter.WithLogger(logs.logger()))
	login := time.Now().Add(-time.Hour)
	revoked := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s-bob", LoginTime: login}
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s-bob", IssuedAt: login.Add(time.Minute)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A session of a user nobody logged out, from before the loss.
	alice := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s-alice", LoginTime: login}
	if got, err := running.Revoked(ctx, alice); err != nil || got {
		t.Fatalf("before the loss: Revoked(alice) = %v, %v", got, err)
	}

	m.FlushAll()

	// A replica started after the loss cannot tell a new Redis from one
	// that lost its data; a replica that was running can. It marks the
	// revocations lost, and every replica, the new one included, ends
	// every session logged in before the loss was found.
	fresh := newRevocations(t, client(), redisadapter.WithLogger(quiet))
	for _, r := range []*redisadapter.Revocations{running, fresh} {
		for _, b := range []sessionadapter.Binding{revoked, alice} {
			eventually(t, func() bool {
				got, err := r.Revoked(ctx, b)
				return err == nil && got
			})
		}
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the running replica did not log the loss at Error:\n%s", logs.String())
	}
	// Logins dated more than the OP clock skew (a minute) after the loss
	// are unaffected; those within it are ended too (fail closed).
	later := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s-new", LoginTime: time.Now().Add(2 * time.Minute)}
	for _, r := range []*redisadapter.Revocations{running, fresh} {
		if got, err := r.Revoked(ctx, later); err != nil || got {
			t.Errorf("login after the loss: Revoked = %v, %v; want false", got, err)
		}
	}
}

// TestRevocationsUpgradeKeepsSessions: revocations written by a version
// without the loss marker are not a loss: sessions stay.
func TestRevocationsUpgradeKeepsSessions(t *testing.T) {
	ctx := context.Background()
	c, _ := redistest.Miniredis(t)
	if err := c.Set(ctx, redisadapter.DefaultKeyPrefix+"rev:seq", 3, 0).Err(); err != nil {
		t.Fatal(err)
	}
	r := newRevocations(t, c)
	b := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s", LoginTime: time.Now().Add(-time.Hour)}
	if got, err := r.Revoked(ctx, b); err != nil || got {
		t.Errorf("Revoked = %v, %v; want false", got, err)
	}
}

// TestRevocationsWarnOnEvictingPolicy: under an allkeys-* eviction policy
// Redis may evict the revocations; the replica warns at start.
func TestRevocationsWarnOnEvictingPolicy(t *testing.T) {
	ctx := context.Background()
	c := redistest.Client(t)
	old, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		t.Skipf("CONFIG GET: %v", err)
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.ConfigSet(context.Background(), "maxmemory-policy", old["maxmemory-policy"]).Err() })
	var logs logBuffer
	newRevocations(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, c)), redisadapter.WithLogger(logs.logger()))
	if !strings.Contains(logs.String(), "allkeys-lru") {
		t.Errorf("no warning about maxmemory-policy allkeys-lru:\n%s", logs.String())
	}
}

// TestRevocationsLostWithOPClockAhead: the loss floor is found on a
// replica's clock, logins are dated by the OP's. With the OP's clock 30 s
// ahead, a user logged in and out just before Redis lost the revocations
// has a login dated after the instant the replica found the loss: the
// floor must still end it, on the running replica and on one started
// after the loss.
func TestRevocationsLostWithOPClockAhead(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	client := clientsOf(t, m)
	clock := storetest.NewSyncClock(time.Now())
	running := newRevocations(t, client(), redisadapter.WithClock(clock.Now))
	opAhead := 30 * time.Second
	login := clock.Now().Add(opAhead - time.Second) // the OP's iat, a second ago on its clock
	bob := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s-bob", LoginTime: login}
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "bob", SessionID: "s-bob", IssuedAt: clock.Now().Add(opAhead)}, time.Hour); err != nil {
		t.Fatal(err)
	}

	m.FlushAll()
	eventually(t, func() bool { // the running replica finds the loss
		_, floor, _ := strings.Cut(m.HGet(redisadapter.DefaultKeyPrefix+"rev:set", "!mark"), ",")
		return floor != "" && floor != "0"
	})

	fresh := newRevocations(t, client(), redisadapter.WithClock(clock.Now))
	for name, r := range map[string]*redisadapter.Revocations{"running": running, "started after the loss": fresh} {
		if got, err := r.Revoked(ctx, bob); err != nil || !got {
			t.Errorf("%s replica: Revoked(bob, logged in and out just before the loss, OP clock %v ahead) = %v, %v; want true", name, opAhead, got, err)
		}
	}
}

// TestRevocationsLostToSnapshotRollback: Redis restarts from an RDB
// snapshot (the default persistence: "save 3600 1 300 100 60 10000")
// taken before the last revocations were written. The loss mark was in
// the snapshot, so only the sequence tells the loss: the next revocation's
// number is one the running replica has already read. It marks the loss
// (it used to take it for a trimmed stream and reload), so that a replica
// started afterwards (a deploy, an autoscaled pod) ends the logged-out
// session whose revocation Redis lost.
func TestRevocationsLostToSnapshotRollback(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	client := clientsOf(t, m)
	rdb := client()
	running := newRevocations(t, client())
	login := time.Now().Add(-time.Hour)
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "s-alice", IssuedAt: login.Add(time.Minute)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// The snapshot is taken here.
	before, err := rdb.HKeys(ctx, "{bclogout}:rev:set").Result()
	if err != nil || len(before) == 0 {
		t.Fatalf("revocation set keys: %v, %v (is the default prefix {bclogout}:?)", before, err)
	}
	bob := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s-bob", LoginTime: login}
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "bob", SessionID: "s-bob", IssuedAt: login.Add(time.Minute)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Let the running replica's feed read bob's revocation.
	time.Sleep(200 * time.Millisecond)

	// Redis restarts from the snapshot: bob's revocation is gone from the
	// set, the expiry index, the stream and the sequence.
	after, _ := rdb.HKeys(ctx, "{bclogout}:rev:set").Result()
	known := map[string]bool{}
	for _, k := range before {
		known[k] = true
	}
	for _, k := range after {
		if !known[k] {
			rdb.HDel(ctx, "{bclogout}:rev:set", k)
			rdb.ZRem(ctx, "{bclogout}:rev:exp", k)
		}
	}
	last, err := rdb.XRevRangeN(ctx, "{bclogout}:rev:log", "+", "-", 1).Result()
	if err != nil || len(last) != 1 {
		t.Fatalf("stream: %v, %v", last, err)
	}
	rdb.XDel(ctx, "{bclogout}:rev:log", last[0].ID)
	rdb.Decr(ctx, "{bclogout}:rev:seq")

	// Life goes on: another logout, whose sequence number the running
	// replica has already read (bob's).
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "carol", SessionID: "s-carol", IssuedAt: login.Add(time.Minute)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

	// A replica started now must not serve bob's logged-out session.
	fresh := newRevocations(t, client())
	waitRevoked(t, fresh, bob, "a replica started after Redis rolled back to a snapshot serves bob's logged-out session")
}

// Redis restarts from a snapshot taken after an earlier loss, which brings
// back that loss's mark, with its floor: a replica that finds it must not
// take it for another replica's mark of this loss, since the revocations
// the restart took back were recorded after that floor. A replica started
// afterwards ends the sessions logged in before the restart.
func TestRevocationsLostToSnapshotWithOlderLossMark(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	client := clientsOf(t, m)
	rdb := client()
	clock := testclock.New(time.Now())
	opts := []redisadapter.Option{redisadapter.WithClock(clock.Now), redisadapter.WithMaxStaleness(24 * time.Hour)}
	var logs logBuffer
	running := newRevocations(t, client(), append(opts, redisadapter.WithLogger(logs.logger()))...)
	losses := func() int { return strings.Count(logs.String(), "Redis lost the revocations") }
	waitLosses := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); losses() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the running replica found %d losses, want %d; logs:\n%s", losses(), n, logs.String())
			}
		}
	}
	t0 := clock.Now()
	// A first loss, and a snapshot taken after it: it holds its mark.
	m.FlushAll()
	waitLosses(1)
	mark, err := rdb.HGet(ctx, "{bclogout}:rev:set", "!mark").Result()
	if err != nil {
		t.Fatal(err)
	}
	// A second loss, an hour later.
	clock.Advance(time.Hour)
	m.FlushAll()
	waitLosses(2)
	// An hour later again, bob logs in and out.
	clock.Advance(time.Hour)
	bob := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s-bob", LoginTime: t0.Add(90 * time.Minute)}
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s-bob", IssuedAt: t0.Add(100 * time.Minute)}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	// Redis restarts from the snapshot: bob's revocation is gone, the
	// first loss's mark is back.
	m.FlushAll()
	if err := rdb.HSet(ctx, "{bclogout}:rev:set", "!mark", mark).Err(); err != nil {
		t.Fatal(err)
	}
	waitLosses(3)
	fresh := newRevocations(t, client(), opts...)
	for name, r := range map[string]*redisadapter.Revocations{"running": running, "started after the restart": fresh} {
		waitRevoked(t, r, bob, "%s replica serves bob's logged-out session; logs:\n%s", name, logs.String())
	}
}

// Redis restarts from a snapshot taken before the last revocation, and no
// logout follows: the sequence went back all the same, and the running
// replica reads it with the mark on each read of the feed, so it marks
// the loss at once rather than at the next revocation, which may be hours
// away, while a replica started meanwhile (a deploy, an autoscaled pod)
// serves the session whose revocation Redis lost.
func TestRevocationsLostToSnapshotRollbackWithoutAnotherRevocation(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	client := clientsOf(t, m)
	rdb := client()
	running := newRevocations(t, client())
	login := time.Now().Add(-time.Hour)
	bob := sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s-bob", LoginTime: login}
	if err := running.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "bob", SessionID: "s-bob", IssuedAt: login.Add(time.Minute)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Let the running replica's feed read bob's revocation.
	time.Sleep(200 * time.Millisecond)

	// Redis restarts from a snapshot taken before bob's revocation (the
	// mark made at start is in it).
	fld, err := rdb.HKeys(ctx, "{bclogout}:rev:set").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range fld {
		if k != "!mark" {
			rdb.HDel(ctx, "{bclogout}:rev:set", k)
			rdb.ZRem(ctx, "{bclogout}:rev:exp", k)
		}
	}
	rdb.Del(ctx, "{bclogout}:rev:log")
	rdb.Decr(ctx, "{bclogout}:rev:seq")

	// A replica started now must not serve bob's logged-out session.
	fresh := newRevocations(t, client())
	waitRevoked(t, fresh, bob, "a replica started after Redis rolled back to a snapshot, with no revocation since, serves bob's logged-out session")
}

// clientsOf returns a function that opens a client of m, closed with t.
func clientsOf(t *testing.T, m *miniredis.Miniredis) func() redis.UniversalClient {
	return func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
}

// waitRevoked waits up to 5 s for r to find b revoked, and fails t with
// format and args, then the last answer, if it does not.
func waitRevoked(t *testing.T, r *redisadapter.Revocations, b sessionadapter.Binding, format string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, err := r.Revoked(context.Background(), b)
		if err == nil && got {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf(format+": Revoked = %v, %v", append(args, got, err)...)
		}
	}
}
