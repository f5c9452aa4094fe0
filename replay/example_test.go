package replay_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bclogout/bclogout/replay"
)

func ExampleNewMemory() {
	cache, err := replay.NewMemory(replay.WithCapacity(10_000))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// Until the token could no longer be accepted: min(exp, iat+maxAge) + skew.
	until := time.Now().Add(6 * time.Minute)

	// First delivery: reserve, log the session out, then commit.
	r, err := cache.Reserve(ctx, "https://op.example", "jti-1", until)
	if err != nil {
		panic(err)
	}
	fmt.Println(cache.Commit(ctx, r))

	// The same token again is refused.
	_, err = cache.Reserve(ctx, "https://op.example", "jti-1", until)
	fmt.Println(errors.Is(err, replay.ErrReplayed))

	// A logout that failed releases its reservation, so the OP's retry works.
	r, _ = cache.Reserve(ctx, "https://op.example", "jti-2", until)
	_ = cache.Release(ctx, r)
	_, err = cache.Reserve(ctx, "https://op.example", "jti-2", until)
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// <nil>
}
