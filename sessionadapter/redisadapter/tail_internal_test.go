package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/mirror"
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
	local := newLocal(t)
	p := cfg.prefix
	r := &Revocations{client: c, cfg: cfg, local: local, synced: make(chan struct{}),
		keys: revKeys{set: p + "rev:set", exp: p + "rev:exp", log: p + "rev:log", seq: p + "rev:seq"}}
	if _, _, _, err := r.load(ctx, false); err != nil { // makes the loss mark the feed then checks
		t.Fatal(err)
	}
	r.lastSync.Store(0)
	for i := range tailBatch + 10 {
		if err := r.Revoke(ctx, sessionadapter.Logout{Issuer: "i", SessionID: fmt.Sprint("s", i)}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	r.local = newLocal(t) // the reader has seen nothing yet
	seq, last, res, err := r.tail(ctx, 0, "0-0", 10*time.Millisecond)
	if err != nil || res != behind {
		t.Fatalf("tail = %v, %v; want a full batch", err, res)
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
func newLocal(t *testing.T) *mirror.Mirror {
	m, err := mirror.New(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// cancelAfter cancels a context once a command of the given name has
// answered: the feed is closed just as a read came back.
type cancelAfter struct {
	name   string
	cancel context.CancelFunc
}

func (*cancelAfter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *cancelAfter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == c.name {
			c.cancel()
		}
		return err
	}
}
func (*cancelAfter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// Closing a replica while its feed applies what it read cancels the rest:
// that is not a malformed revocation, and must not be logged as one (at
// Error, once per entry).
func TestFeedClosedWhileApplyingLogsNoMalformed(t *testing.T) {
	for _, tt := range []struct {
		name string
		cmd  string
		read func(ctx context.Context, r *Revocations) error
	}{
		{name: "load", cmd: "hscan", read: func(ctx context.Context, r *Revocations) error {
			_, _, _, err := r.load(ctx, false)
			return err
		}},
		{name: "tail", cmd: "xread", read: func(ctx context.Context, r *Revocations) error {
			_, _, _, err := r.tail(ctx, 0, "0-0", 10*time.Millisecond)
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := miniredis.RunT(t)
			c := redis.NewClient(&redis.Options{Addr: m.Addr()})
			t.Cleanup(func() { c.Close() })
			var logs strings.Builder
			var mu sync.Mutex
			cfg, err := newConfig(ctorRevocations, []Option{WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))}, false)
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.prefix
			r := &Revocations{client: c, cfg: cfg, local: newLocal(t), synced: make(chan struct{}),
				keys: revKeys{set: p + "rev:set", exp: p + "rev:exp", log: p + "rev:log", seq: p + "rev:seq"}}
			if _, _, _, err := r.load(t.Context(), false); err != nil { // makes the loss mark
				t.Fatal(err)
			}
			for i := range 50 {
				if err := r.Revoke(t.Context(), sessionadapter.Logout{Issuer: "i", SessionID: fmt.Sprint("s", i)}, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			c.AddHook(&cancelAfter{name: tt.cmd, cancel: cancel})
			if err := tt.read(ctx, r); !errors.Is(err, context.Canceled) {
				t.Errorf("%s closed while applying: %v, want context.Canceled", tt.name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(logs.String(), "malformed") {
				t.Errorf("a cancelled read was logged as malformed:\n%s", logs.String())
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A malformed entry in the set (no replica writes one) is logged at Error
// and skipped; the load goes on with the rest.
func TestFeedSkipsMalformedRevocation(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	var logs strings.Builder
	var mu sync.Mutex
	cfg, err := newConfig(ctorRevocations, []Option{WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))}, false)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.prefix
	r := &Revocations{client: c, cfg: cfg, local: newLocal(t), synced: make(chan struct{}),
		keys: revKeys{set: p + "rev:set", exp: p + "rev:exp", log: p + "rev:log", seq: p + "rev:seq"}}
	until := fmt.Sprint(time.Now().Add(time.Hour).UnixMilli())
	good := sessionadapter.Logout{Issuer: "i", SessionID: "s"}
	for fld, val := range map[string]string{
		"sbad":                    "1,2",
		encodeLogout(good):        "1700000000000," + until,
		encodeLogout(good) + "x":  "1,2",
		"s1:i0:1:t":               "not a time," + until,
		"u0:1:u0:":                "1700000000000," + until, // no issuer
		encodeLogout(good) + "!!": "-5," + until,
	} {
		m.HSet(p+"rev:set", fld, val)
	}
	if _, _, _, err := r.load(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if got, err := r.local.Revoked(t.Context(), sessionadapter.Binding{Issuer: "i", SessionID: "s", LoginTime: time.UnixMilli(1_600_000_000_000)}); err != nil || !got {
		t.Error("the well-formed revocation beside malformed ones is not enforced")
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "level=ERROR msg=\"redisadapter: skipping a malformed revocation\""); n != 5 {
		t.Errorf("%d malformed revocations logged at Error, want 5:\n%s", n, logs.String())
	}
}
