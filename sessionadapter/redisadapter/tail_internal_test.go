package redisadapter

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
)

// A read that fills its batch may have left entries behind: the replica
// must not call itself fresh until a read comes back short.
func TestTailFullBatchIsNotFresh(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	cfg, err := newConfig(ctorRevocations, []Option{WithLogger(slog.New(slog.DiscardHandler))}, false)
	if err != nil {
		t.Fatal(err)
	}
	local := newLocal()
	p := cfg.prefix
	r := &Revocations{client: c, cfg: cfg, local: local, synced: make(chan struct{}),
		keys: revKeys{set: p + "rev:set", exp: p + "rev:exp", log: p + "rev:log", seq: p + "rev:seq"}}
	if _, _, err := r.load(ctx); err != nil { // makes the loss mark the feed then checks
		t.Fatal(err)
	}
	r.lastSync.Store(0)
	for i := range tailBatch + 10 {
		if err := r.Revoke(ctx, sessionadapter.Logout{Issuer: "i", SessionID: fmt.Sprint("s", i)}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	r.local = newLocal() // the reader has seen nothing yet
	seq, last, gap, err := r.tail(ctx, 0, "0-0", 10*time.Millisecond)
	if err != nil || gap {
		t.Fatalf("tail = %v, gap %v", err, gap)
	}
	if r.lastSync.Load() != 0 {
		t.Fatal("a full batch marked the replica fresh while entries were left")
	}
	if _, _, _, err := r.tail(ctx, seq, last, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if r.lastSync.Load() == 0 {
		t.Fatal("a short batch did not mark the replica fresh")
	}
	if got, err := r.Revoked(ctx, sessionadapter.Binding{Issuer: "i", SessionID: fmt.Sprint("s", tailBatch+9)}); err != nil || !got {
		t.Fatalf("last revocation: %v, %v, want true", got, err)
	}
}

// newLocal returns an empty replica memory, as NewRevocations makes one.
func newLocal() memoryRevocations {
	m, _ := sessionadapter.NewMemoryRevocations()
	return m.(memoryRevocations)
}
