package redisadapter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// Sessions of a Redis-backed store (here boj/redistore's "session_<id>"
// keys) bound at login and ended by a logout token, whichever replica
// receives it.
func ExampleNew() {
	ctx := context.Background()
	m, _ := miniredis.Run() // your Redis, Sentinel or Cluster
	defer m.Close()
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer client.Close()

	store, err := redisadapter.New(client, redisadapter.WithSessionKey("session_%s"))
	if err != nil {
		panic(err)
	}
	_ = client.Set(ctx, "session_abc", "alice's data", 0).Err() // written by the session store
	_ = store.Bind(ctx, sessionadapter.Binding{
		Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1", LocalID: "abc",
	})

	n, err := store.EndSessions(ctx, sessionadapter.Logout{Issuer: "https://op.example", Subject: "alice"})
	exists, _ := client.Exists(ctx, "session_abc").Result()
	fmt.Println(n, err, exists)
	// Output: 1 <nil> 0
}

// Every replica runs the same three pieces over one Redis: the store, the
// revocation feed, and the Ender that composes them.
func ExampleNewRevocations() {
	ctx := context.Background()
	m, _ := miniredis.Run()
	defer m.Close()
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer client.Close()

	store, _ := redisadapter.New(client)          // bindings, deletion of session data
	rev, _ := redisadapter.NewRevocations(client) // in-memory revocations fed from Redis
	defer rev.Close()
	ender, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store)) // to rp.NewHandler
	_ = rev.Wait(ctx)                                                                 // or let the guard answer 503 meanwhile

	login := time.Unix(1_700_000_000, 0)
	alice := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1", LocalID: "abc", LoginTime: login}
	_ = ender.Bind(ctx, alice)
	_, _ = ender.EndSessions(ctx, sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-1", IssuedAt: login.Add(time.Minute)})
	revoked, err := rev.Revoked(ctx, alice) // middleware.Guard's check: no Redis call
	fmt.Println(revoked, err)
	// Output: true <nil>
}
