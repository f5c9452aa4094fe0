package replay_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bclogout/bclogout/replay"
)

func ExampleNewMemory() {
	cache := replay.NewMemory(10_000)
	ctx := context.Background()
	// Until the token could no longer be accepted: min(exp, iat+maxAge) + skew.
	until := time.Now().Add(6 * time.Minute)

	seen, _ := cache.Seen(ctx, "https://op.example", "jti-1")
	fmt.Println(seen)
	// ... the logout ran and succeeded ...
	_ = cache.Record(ctx, "https://op.example", "jti-1", until)
	seen, _ = cache.Seen(ctx, "https://op.example", "jti-1")
	fmt.Println(seen)
	// Output:
	// false
	// true
}
