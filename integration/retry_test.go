package integration_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/internal/retrytest"
	"github.com/bclogout/bclogout/replay/redisreplay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/redis/go-redis/v9"
)

// Redis goes down (a real redis-server, cut off behind a proxy) while the
// OP delivers 100 valid logouts: each is answered 400
// temporarily_unavailable, and the OP never delivers them again. Redis
// comes back: the handler's retry queue ends all 100 sessions by itself,
// within the documented bound (the 1 min maximum backoff plus the
// attempts ahead), each
// exactly once, and Close leaves no goroutine of the queue behind.
func TestRetryEndsLogoutsAfterRedisOutage(t *testing.T) {
	const (
		logouts    = 100
		maxBackoff = time.Minute // rp.WithRetry's documented cap
		timeout    = 500 * time.Millisecond
	)
	admin := redistest.Client(t) // straight to the server, never cut
	proxy := redistest.NewProxy(t, admin.Options().Addr)
	opts, err := redis.ParseURL(os.Getenv(redistest.URLEnv))
	if err != nil {
		t.Fatal(err)
	}
	opts.Addr, opts.ContextTimeoutEnabled = proxy.Addr(), true
	rdb := redis.NewClient(opts) // the replica's client, with go-redis's own retries
	t.Cleanup(func() { _ = rdb.Close() })

	jtiPrefix, keyPrefix := redistest.Prefix(t, admin), redistest.TaggedPrefix(t, admin)
	key, v := newES256Verifier(t)
	cache, err := redisreplay.New(rdb, jtiPrefix)
	if err != nil {
		t.Fatal(err)
	}
	store, err := redisadapter.New(rdb, redisadapter.WithKeyPrefix(keyPrefix))
	if err != nil {
		t.Fatal(err)
	}
	adminBindings, err := redisadapter.New(admin, redisadapter.WithKeyPrefix(keyPrefix))
	if err != nil {
		t.Fatal(err)
	}
	adminStore := redisData{adminBindings, keyPrefix + "session:%s"} // the default key format
	m := retrytest.NewMetrics(logouts)
	h, err := rp.NewHandler(v, store, rp.WithReplayCache(cache), rp.WithLogoutTimeout(timeout),
		rp.WithRetry(0),
		rp.WithMetrics(m.Observe), rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := &replica{store: redisData{store, keyPrefix + "session:%s"}, srv: srv} // the default key format

	tokens := make([]string, logouts)
	for i := range logouts {
		localID, sid := fmt.Sprintf("s-%d", i), fmt.Sprintf("sid-%d", i)
		bind(t, adminStore, localID, fmt.Sprintf("user-%d", i), sid)
		setSessionData(t, admin, adminStore, localID)
		tokens[i] = mint(t, key, fmt.Sprintf("user-%d", i), sid)
	}

	proxy.Cut()
	// The OP delivers all 100, a few at a time, and never again.
	// Each answer comes within the logout timeout, go-redis's retries
	// inside it included (they used to hold a logout for ~1.7 s).
	var wg sync.WaitGroup
	var slowestMu sync.Mutex
	var slowest time.Duration
	codes := make(chan string, logouts)
	sem := make(chan struct{}, 20)
	for _, tok := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			code, errCode := post(t, r, tok)
			took := time.Since(start)
			slowestMu.Lock()
			slowest = max(slowest, took)
			slowestMu.Unlock()
			codes <- fmt.Sprint(code, " ", errCode)
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != "400 temporarily_unavailable" {
			t.Fatalf("a logout during the outage was answered %s, want 400 temporarily_unavailable", c)
		}
	}
	t.Logf("slowest answer during the outage: %v (logout timeout %v)", slowest.Round(time.Millisecond), timeout)
	// The bound is generous: under a loaded machine and the race detector
	// scheduling alone adds seconds; unbounded, go-redis would redial for far longer.
	if slowest > timeout+3*time.Second {
		t.Errorf("a logout during the outage took %v, beyond the logout timeout %v", slowest, timeout)
	}
	m.Lock()
	queued := m.Queued
	m.Unlock()
	if queued != logouts {
		t.Fatalf("%d logouts queued, want %d", queued, logouts)
	}
	for i := range logouts {
		if !exists(t, admin, adminStore, fmt.Sprintf("s-%d", i)) {
			t.Fatalf("session s-%d ended while Redis was down", i)
		}
	}

	proxy.Restore()
	back := time.Now()
	// The documented bound: every pending logout is retried within the
	// maximum backoff of the store's return, plus the attempts queued
	// ahead of it. Here: one attempt that may be hanging on the dead connection
	// when Redis returns (cut off by the logout timeout), go-redis's own
	// redial probe (once a second after failed dials), then 100 attempts
	// of a few Redis round trips each, allowed 25 ms apiece under -race.
	bound := maxBackoff + timeout + time.Second + logouts*25*time.Millisecond
	select {
	case <-m.Done():
	case <-time.After(bound):
		m.Lock()
		t.Fatalf("after %v, %d of %d logouts completed", bound, len(m.Retried), logouts)
	}
	t.Logf("all %d logouts ended %v after Redis came back (bound %v)", logouts, time.Since(back).Round(time.Millisecond), bound)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkNoRetryGoroutine(t)

	ended := 0
	for _, n := range m.Retried {
		if n != 1 {
			t.Errorf("a retry ended %d sessions, want 1", n)
		}
		ended += n
	}
	if ended != logouts || m.Accepted != 0 || len(m.Abandoned) != 0 {
		t.Errorf("retries ended %d sessions, %d tokens accepted by a delivery, abandoned %v; want %d, 0, none",
			ended, m.Accepted, m.Abandoned, logouts)
	}
	for i := range logouts {
		if exists(t, admin, adminStore, fmt.Sprintf("s-%d", i)) {
			t.Errorf("session s-%d outlived its logout", i)
		}
	}
	// The queue consumed each token, as a successful delivery does.
	if code, errCode := post(t, r, tokens[0]); code != http.StatusBadRequest || errCode != "invalid_request" {
		t.Errorf("a late delivery by the OP: %d %q, want 400 invalid_request (already used)", code, errCode)
	}
}

// checkNoRetryGoroutine fails if a goroutine of the retry queue still
// runs; one that has just returned may be listed for a moment.
func checkNoRetryGoroutine(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "rp.(*retryQueue)") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a retry queue goroutine outlived Close:\n%s", stacks)
		}
	}
}

// toggleEnder fails while down, and otherwise ends sessions through the
// store, counting what it ended.
type toggleEnder struct {
	store sessionadapter.Store
	mu    sync.Mutex
	down  bool
	ended int
}

func (e *toggleEnder) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	e.mu.Lock()
	down := e.down
	e.mu.Unlock()
	if down {
		return 0, errors.New("store down")
	}
	n, err := e.store.EndSessions(ctx, l)
	e.mu.Lock()
	e.ended += n
	e.mu.Unlock()
	return n, err
}

// Replica a's store fails and a queues the logout; the OP's retry reaches
// replica b, which ends the session. a's queued retry then finds the jti
// used and does nothing: the session is ended once, across replicas.
func TestRetryDoneByOtherReplicaIsNoOp(t *testing.T) {
	client, _ := redistest.Miniredis(t)
	key, err := opkit.GenerateKey("ES256", "k1")
	if err != nil {
		t.Fatal(err)
	}
	store, err := redisadapter.New(client, redisadapter.WithKeyPrefix("{bcl}:"))
	if err != nil {
		t.Fatal(err)
	}
	newHandler := func(ender *toggleEnder, m *retrytest.Metrics) *replica {
		v := verifierFor(t, key)
		cache, err := redisreplay.New(client, "jti:")
		if err != nil {
			t.Fatal(err)
		}
		h, err := rp.NewHandler(v, ender, rp.WithReplayCache(cache), rp.WithMetrics(m.Observe),
			// a's first retry comes 0.5–1 s after its failure: b's
			// delivery, right after, is not racing a's logout.
			rp.WithRetry(0),
			rp.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close(context.Background()) })
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return &replica{store: redisData{store, "{bcl}:session:%s"}, srv: srv} // the default key format
	}
	enderA, enderB := &toggleEnder{store: store, down: true}, &toggleEnder{store: store}
	mA := retrytest.NewMetrics(1)
	mB := retrytest.NewMetrics(1)
	a, b := newHandler(enderA, mA), newHandler(enderB, mB)

	bind(t, store, "s-alice", "alice", "sid-1")
	token := mint(t, key, "alice", "sid-1")
	if code, errCode := post(t, a, token); code != http.StatusBadRequest || errCode != "temporarily_unavailable" {
		t.Fatalf("replica a with its store down: %d %q", code, errCode)
	}
	// b's success lands before a's first retry: a's store stays down
	// until b has answered anyway.
	if code, _ := post(t, b, token); code != http.StatusOK {
		t.Fatalf("the OP's retry at replica b: %d, want 200", code)
	}
	enderA.mu.Lock()
	enderA.down = false
	enderA.mu.Unlock()
	select {
	case <-mA.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("replica a's queued logout never completed")
	}
	if mA.Retried[0] != 0 || enderA.ended != 0 || enderB.ended != 1 {
		t.Errorf("a's retry reported %d sessions, a ended %d, b ended %d; want 0, 0, 1", mA.Retried[0], enderA.ended, enderB.ended)
	}
}
