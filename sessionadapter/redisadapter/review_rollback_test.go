package redisadapter_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
)

// TestReviewRevocationsLostToSnapshotRollback: Redis restarts from an
// RDB snapshot (the default persistence: "save 3600 1 300 100 60 10000")
// taken before the last revocations were written. The loss mark was in
// the snapshot, so nothing reports a loss: the revocations written since
// are gone without trace. The running replica sees the sequence go back
// (the next revocation's number is one it has already read) but takes it
// for a trimmed stream and reloads; a replica started afterwards (a
// deploy, an autoscaled pod) never learns the lost revocation and lets the
// logged-out session back. The package's promise is that a loss "fails
// closed" and that "no lost revocation can let a logged-out session back"
// once a running replica has noticed; a sequence that goes backwards is
// such a loss.
func TestReviewRevocationsLostToSnapshotRollback(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	client := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := fresh.Revoked(ctx, bob)
		if err == nil && got {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a replica started after Redis rolled back to a snapshot serves bob's logged-out session: Revoked = %v, %v", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
