package pgadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/retrytest"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
)

const clientID = "app"

// postLogout delivers a logout token as an OP does and returns the status
// and the error member of a JSON error body.
func postLogout(t *testing.T, srvURL, token string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(srvURL, url.Values{"logout_token": {token}})
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != http.StatusOK {
		_ = json.NewDecoder(resp.Body).Decode(&body)
	}
	return resp.StatusCode, body.Error
}

// PostgreSQL stops (pg_ctl stop) while the OP delivers 100 valid
// logouts: each is answered 400 temporarily_unavailable and queued, and
// the OP never delivers them again; meanwhile the replica's guard fails
// closed (ErrStale). PostgreSQL starts again: the handler's retry queue
// ends all 100 sessions by itself, each exactly once, and the feed is
// fresh again.
func TestRetryEndsLogoutsAfterPostgresOutage(t *testing.T) {
	const logouts = 100
	pool := newPool(t)
	h, schema := harnessIn(t, pool, sessionTables[0])
	ctx := t.Context()
	rev := newRevocations(t, pool, pgadapter.WithSchema(schema), pgadapter.WithMaxStaleness(time.Second))
	cache, err := pgadapter.NewReplayCache(pool, pgadapter.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(h.Store))
	if err != nil {
		t.Fatal(err)
	}
	key, err := opkit.GenerateKey("ES256", "k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.ParseKeySet(opkit.JWKS(key.PublicJWK()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := rp.NewVerifier(iss, clientID, keys, rp.WithAlgorithms("ES256"))
	if err != nil {
		t.Fatal(err)
	}
	m := retrytest.NewMetrics(logouts)
	handler, err := rp.NewHandler(v, ender, rp.WithReplayCache(cache), rp.WithLogoutTimeout(500*time.Millisecond),
		rp.WithRetry(0), rp.WithMetrics(m.Observe), rp.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	login := time.Now().Add(-time.Minute)
	tokens := make([]string, logouts)
	for i := range logouts {
		id, sid := fmt.Sprint("s-", i), fmt.Sprint("sid-", i)
		h.Create(t, id)
		if err := h.Store.Bind(ctx, sessionadapter.Binding{Issuer: iss, Subject: fmt.Sprint("user-", i), SessionID: sid,
			LocalID: id, LoginTime: login, Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		tok := opkit.NewLogoutToken(iss, clientID, time.Now())
		tok.Claims["sub"], tok.Claims["sid"] = fmt.Sprint("user-", i), sid
		if tokens[i], err = tok.Sign(key); err != nil {
			t.Fatal(err)
		}
	}
	bystander := sessionadapter.Binding{Issuer: iss, Subject: "carol", SessionID: "sid-carol", LoginTime: login}

	pgctl(t, "stop")
	stopped := true
	t.Cleanup(func() {
		if stopped {
			pgctl(t, "start")
		}
	})
	// The OP delivers all 100, a few at a time, and never again.
	var wg sync.WaitGroup
	codes := make(chan string, logouts)
	sem := make(chan struct{}, 20)
	for _, tok := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, errCode := postLogout(t, srv.URL, tok)
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
	m.Lock()
	queued := m.Queued
	m.Unlock()
	if queued != logouts {
		t.Fatalf("%d logouts queued, want %d", queued, logouts)
	}
	// The guard fails closed while the feed cannot read: past the bound,
	// Revoked answers ErrStale for every session.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := rev.Revoked(ctx, bystander)
		if errors.Is(err, sessionadapter.ErrStale) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with PostgreSQL down, Revoked answered err = %v, want ErrStale", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	pgctl(t, "start")
	stopped = false
	back := time.Now()
	select {
	case <-m.Done():
	case <-time.After(time.Minute + 30*time.Second): // the retry queue's 1 min maximum backoff, and time to run
		m.Lock()
		t.Fatalf("90 s after PostgreSQL came back, %d of %d logouts completed", len(m.Retried), logouts)
	}
	t.Logf("all %d logouts ended %v after PostgreSQL came back", logouts, time.Since(back).Round(time.Millisecond))
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := handler.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	m.Lock()
	defer m.Unlock()
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
		if h.Alive(t, fmt.Sprint("s-", i)) {
			t.Errorf("session s-%d outlived its logout", i)
		}
	}
	if !waitRevoked(rev, bystander, false, 5*time.Second) {
		t.Error("the feed is not fresh again after PostgreSQL came back")
	}
}
