package redisreplay_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/replay/redisreplay"
)

func ExampleNew() {
	srv, err := miniredis.Run() // a real deployment points at its Redis
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := redis.NewClient(&redis.Options{
		Addr: srv.Addr(),
		// Required: lets the request's deadline bound every Redis call.
		ContextTimeoutEnabled: true,
	})
	defer client.Close()

	// Each RP replica makes its own Cache on the shared Redis.
	replicaA, err := redisreplay.New(client, "")
	if err != nil {
		panic(err)
	}
	replicaB, err := redisreplay.New(client, "")
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	until := time.Now().Add(6 * time.Minute)
	_ = replicaA.Record(ctx, "https://op.example", "jti-1", until) // the logout succeeded

	// The same token delivered to the other replica is a replay.
	seen, _ := replicaB.Seen(ctx, "https://op.example", "jti-1")
	fmt.Println(seen)
	// Output: true
}
