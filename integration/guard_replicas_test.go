package integration_test

import (
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

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// guardCounter counts the Redis commands issued on behalf of guarded
// requests: the guard hands the request's context to Revocations, so a
// command made for a request carries its mark.
type guardCounter struct{ n atomic.Int64 }

type guardedKey struct{}

func (*guardCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *guardCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(guardedKey{}) != nil {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *guardCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(guardedKey{}) != nil {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// guardedReplica is one RP replica: the back-channel logout handler, and
// a guarded page whose session is named by a "sid" cookie (a stand-in for
// any session store: the guard only needs the binding).
type guardedReplica struct {
	rev *redisadapter.Revocations
	srv *httptest.Server
	cnt *guardCounter
}

var loginTime = time.Now().Add(-time.Hour)

func newGuardedReplica(t *testing.T, rdb redis.UniversalClient, prefix string, key *opkit.Key, opts ...redisadapter.Option) *guardedReplica {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	cnt := &guardCounter{}
	rdb.AddHook(cnt)
	rev, err := redisadapter.NewRevocations(rdb, append([]redisadapter.Option{redisadapter.WithKeyPrefix(prefix), redisadapter.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rev.Close() })
	store, err := redisadapter.New(rdb, redisadapter.WithKeyPrefix(prefix), redisadapter.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, key)
	h, err := rp.NewHandler(v, ender, rp.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(r *http.Request) (sessionadapter.Binding, bool) {
		ck, err := r.Cookie("sid")
		if err != nil {
			return sessionadapter.Binding{}, false
		}
		return sessionadapter.Binding{Issuer: issuer, Subject: "alice", SessionID: ck.Value, LocalID: ck.Value, LoginTime: loginTime}, true
	}
	guard, err := middleware.Guard(rev, lookup, middleware.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/backchannel-logout", h)
	page := guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello alice") }))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), guardedKey{}, true)))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &guardedReplica{rev: rev, srv: srv, cnt: cnt}
}

func (g *guardedReplica) page(t *testing.T, sid string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (g *guardedReplica) logout(t *testing.T, key *opkit.Key, sid string) {
	t.Helper()
	resp, err := http.PostForm(g.srv.URL+"/backchannel-logout", map[string][]string{"logout_token": {mint(t, key, "alice", sid)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout of %s: %d, want 200", sid, resp.StatusCode)
	}
}

// tcpProxy forwards connections to Redis until cut: then it drops every
// connection and refuses new ones until restored.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			out, err := net.Dial("tcp", target)
			if p.cut || err != nil {
				p.mu.Unlock()
				in.Close()
				if out != nil {
					out.Close()
				}
				continue
			}
			p.conns[in], p.conns[out] = struct{}{}, struct{}{}
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.setCut(true); p.wg.Wait() })
	return p
}

func (p *tcpProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// Two replicas on one real redis-server. A logout accepted by replica 1
// is enforced by replica 2's guard within the staleness bound: once
// replica 2's clock is past the bound, its page answers 401 or 503
// (fail closed), never 200. With replica 2's feed cut, its guard fails
// closed after the bound, and when Redis is back it enforces the logout
// replica 1 accepted meanwhile. No guarded request issues a Redis command.
func TestGuardAcrossReplicas(t *testing.T) {
	admin := redistest.Client(t)
	prefix := redistest.TaggedPrefix(t, admin)
	key, err := opkit.GenerateKey("ES256", "k1")
	if err != nil {
		t.Fatal(err)
	}
	const bound = time.Second
	clock2 := newClock(time.Now())
	px := newTCPProxy(t, admin.Options().Addr)
	via := redis.NewClient(&redis.Options{Addr: px.ln.Addr().String(), MaxRetries: -1, DialTimeout: time.Second, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = via.Close() })

	r1 := newGuardedReplica(t, redistest.Client(t), prefix, key)
	r2 := newGuardedReplica(t, via, prefix, key, redisadapter.WithClock(clock2.Now), redisadapter.WithMaxStaleness(bound))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r2.rev.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if code := r2.page(t, "sid-1"); code != http.StatusOK {
			t.Fatalf("replica 2 before any logout: %d, want 200", code)
		}
	}

	r1.logout(t, key, "sid-1")
	clock2.Advance(bound + time.Millisecond)
	for code := 0; code != http.StatusUnauthorized; {
		switch code = r2.page(t, "sid-1"); code {
		case http.StatusOK:
			t.Fatal("replica 2 served a session replica 1 logged out, after the bound")
		case http.StatusUnauthorized, http.StatusServiceUnavailable:
		default:
			t.Fatalf("replica 2: %d", code)
		}
	}
	if code := r2.page(t, "sid-2"); code != http.StatusOK {
		t.Fatalf("replica 2, another session: %d, want 200", code)
	}

	px.setCut(true)
	clock2.Advance(bound + time.Millisecond)
	if code := r2.page(t, "sid-2"); code != http.StatusServiceUnavailable {
		t.Fatalf("replica 2 with its feed cut past the bound: %d, want 503 (fail closed)", code)
	}
	r1.logout(t, key, "sid-2") // accepted while replica 2 cannot hear
	px.setCut(false)
	for code := http.StatusServiceUnavailable; code == http.StatusServiceUnavailable; {
		code = r2.page(t, "sid-2")
		if code == http.StatusOK {
			t.Fatal("replica 2 recovered without the logout accepted during the cut")
		}
	}
	if code := r2.page(t, "sid-3"); code != http.StatusOK {
		t.Fatalf("replica 2 after recovery, a live session: %d, want 200", code)
	}
	if n := r2.cnt.n.Load() + r1.cnt.n.Load(); n != 0 {
		t.Fatalf("guarded requests issued %d Redis commands, want 0", n)
	}
}
