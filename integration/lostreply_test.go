package integration_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/replay/redisreplay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/redis/go-redis/v9"
)

// replyDropper wraps the client's connections to a redistest.Proxy. The
// first SET on a key that holds marker reaches Redis and is applied; its
// reply is then thrown away and the proxy drops every connection, as a
// read timeout or a failover right after the write does. go-redis sees
// the connection end and, as it does by default, sends the same SET
// again on a new connection.
type replyDropper struct {
	proxy   *redistest.Proxy
	marker  []byte
	dropped atomic.Bool
}

func (d *replyDropper) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &droppingConn{Conn: c, d: d}, nil
}

type droppingConn struct {
	net.Conn
	d    *replyDropper
	mu   sync.Mutex
	drop bool // the reply to the last write is to be lost
}

func (c *droppingConn) Write(p []byte) (int, error) {
	if bytes.Contains(bytes.ToLower(p), []byte("\r\nset\r\n")) && bytes.Contains(p, c.d.marker) && c.d.dropped.CompareAndSwap(false, true) {
		c.mu.Lock()
		c.drop = true
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

func (c *droppingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	drop := c.drop
	c.drop = false
	c.mu.Unlock()
	if !drop {
		return c.Conn.Read(p)
	}
	// Redis applied the SET once it replied; the reply goes nowhere.
	if _, err := c.Conn.Read(make([]byte, 512)); err != nil {
		return 0, err
	}
	c.d.proxy.Cut()
	c.d.proxy.Restore()
	return 0, io.EOF
}

// Redis applies the replay cache's write for a token
// never seen before, its reply is lost and go-redis retries the write.
// The retry must not turn the token into a replay: the genuine first
// delivery ends the session and is answered 200.
func TestLostReplayReplyIsNotAReplay(t *testing.T) {
	_, mr := redistest.Miniredis(t)
	proxy := redistest.NewProxy(t, mr.Addr())
	plain := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = plain.Close() })
	prefix := redistest.Prefix(t, plain)
	dropper := &replyDropper{proxy: proxy, marker: []byte(prefix)}
	client := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true, Dialer: dropper.dial})
	t.Cleanup(func() { _ = client.Close() })

	key, v := newES256Verifier(t)
	cache, err := redisreplay.New(client, prefix)
	if err != nil {
		t.Fatal(err)
	}
	keyPrefix := redistest.TaggedPrefix(t, plain)
	format := keyPrefix + "session:%s"
	bindings, err := redisadapter.New(plain, redisadapter.WithKeyPrefix(keyPrefix), redisadapter.WithSessionKey(format))
	if err != nil {
		t.Fatal(err)
	}
	store := redisData{bindings, format}
	h, err := rp.NewHandler(v, store, rp.WithReplayCache(cache), rp.WithLogoutTimeout(5*time.Second),
		rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := &replica{store: store, srv: srv}

	bind(t, store, "s-alice", "alice", "sid-1")
	setSessionData(t, plain, store, "s-alice")
	token := mint(t, key, "alice", "sid-1")

	if code, errCode := post(t, r, token); code != http.StatusOK {
		t.Fatalf("first delivery whose replay-cache reply was lost: %d %q, want 200", code, errCode)
	}
	if !dropper.dropped.Load() {
		t.Fatal("precondition: no reply was dropped")
	}
	if exists(t, plain, store, "s-alice") {
		t.Error("alice's session survived her logout")
	}
	if code, _ := post(t, r, token); code != http.StatusBadRequest {
		t.Errorf("the same token again: %d, want 400 (replayed)", code)
	}
}
