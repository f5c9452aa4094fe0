package integration_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/replay/redisreplay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/redis/go-redis/v9"
)

const (
	issuer   = "https://op.example.com"
	clientID = "app"
)

// replica is one RP instance: its own replay cache, session store and
// handler over a Redis that the replicas share.
type replica struct {
	store redisData
	srv   *httptest.Server
}

// backend is a Redis the replicas share, and the key prefixes one test
// uses there, so tests sharing a real server do not see each other's keys.
type backend struct {
	newClient            func() redis.UniversalClient
	jtiPrefix, keyPrefix string
}

func newReplica(t *testing.T, be backend, key *opkit.Key) *replica {
	t.Helper()
	rdb := be.newClient()
	v := verifierFor(t, key)
	cache, err := redisreplay.New(rdb, be.jtiPrefix)
	if err != nil {
		t.Fatal(err)
	}
	format := be.keyPrefix + "session:%s"
	bindings, err := redisadapter.New(rdb, redisadapter.WithKeyPrefix(be.keyPrefix), redisadapter.WithSessionKey(format))
	if err != nil {
		t.Fatal(err)
	}
	store := redisData{bindings, format}
	h, err := rp.NewHandler(v, store, rp.WithReplayCache(cache), rp.WithLogoutTimeout(2*time.Second),
		rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &replica{store: store, srv: srv}
}

// post delivers a logout token as an OP does and returns the status and
// the error member of a JSON error body.
func post(t *testing.T, r *replica, token string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(r.srv.URL, url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %v", resp.StatusCode, err)
		}
	}
	return resp.StatusCode, body.Error
}

func bind(t *testing.T, s sessionadapter.Store, localID, sub, sid string) {
	t.Helper()
	err := s.Bind(context.Background(), sessionadapter.Binding{
		Issuer: issuer, Subject: sub, SessionID: sid, LocalID: localID,
		LoginTime: time.Now().Add(-time.Minute), Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mint(t *testing.T, key *opkit.Key, sub, sid string) string {
	t.Helper()
	tok := opkit.NewLogoutToken(issuer, clientID, time.Now())
	tok.Claims["sub"], tok.Claims["sid"] = sub, sid
	raw, err := tok.Sign(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// exists reports whether the session data of localID is still in Redis.
func exists(t *testing.T, rdb redis.UniversalClient, s redisData, localID string) bool {
	t.Helper()
	n, err := rdb.Exists(context.Background(), s.SessionKey(localID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func setSessionData(t *testing.T, rdb redis.UniversalClient, s redisData, localID string) {
	t.Helper()
	if err := rdb.Set(context.Background(), s.SessionKey(localID), "data", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
}

// A token delivered to one replica ends a session another replica created,
// and the same token delivered to every replica is acted on once: on
// miniredis, a real redis-server and a real 3-node cluster.
func TestTwoReplicasShareSessionsAndReplayWindow(t *testing.T) {
	backends := []struct {
		name   string
		client func(t *testing.T) func() redis.UniversalClient
	}{
		{name: "miniredis", client: func(t *testing.T) func() redis.UniversalClient {
			_, mr := redistest.Miniredis(t)
			return func() redis.UniversalClient {
				c := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
				t.Cleanup(func() { c.Close() })
				return c
			}
		}},
		{name: "redis", client: func(t *testing.T) func() redis.UniversalClient {
			return func() redis.UniversalClient { return redistest.Client(t) }
		}},
		{name: "cluster", client: func(t *testing.T) func() redis.UniversalClient {
			return func() redis.UniversalClient { return redistest.ClusterClient(t) }
		}},
	}
	for _, bt := range backends {
		t.Run(bt.name, func(t *testing.T) {
			newClient := bt.client(t)
			admin := newClient()
			be := backend{newClient: newClient, jtiPrefix: redistest.Prefix(t, admin), keyPrefix: redistest.TaggedPrefix(t, admin)}
			key, err := opkit.GenerateKey("ES256", "k1")
			if err != nil {
				t.Fatal(err)
			}
			a, b := newReplica(t, be, key), newReplica(t, be, key)

			bind(t, b.store, "s-alice", "alice", "sid-1") // alice logged in through replica b
			setSessionData(t, admin, b.store, "s-alice")
			bind(t, b.store, "s-bob", "bob", "sid-2")
			setSessionData(t, admin, b.store, "s-bob")

			token := mint(t, key, "alice", "sid-1")
			if code, _ := post(t, a, token); code != http.StatusOK {
				t.Fatalf("replica a: status %d, want 200", code)
			}
			if exists(t, admin, b.store, "s-alice") {
				t.Error("alice's session survived a logout delivered to the other replica")
			}
			if !exists(t, admin, b.store, "s-bob") {
				t.Error("bob's session was ended by alice's logout")
			}
			if code, errCode := post(t, b, token); code != http.StatusBadRequest || errCode != "invalid_request" {
				t.Fatalf("same token at replica b: %d %q, want 400 invalid_request (replay)", code, errCode)
			}
		})
	}
}

// Redis failing during a logout: 400 temporarily_unavailable, the jti not
// consumed and the session not touched; the OP's retry after recovery ends
// it.
func TestRedisFaultDuringLogoutThenRetry(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(mr *miniredis.Miniredis)
		heal   func(t *testing.T, mr *miniredis.Miniredis)
	}{
		{
			name:   "redis answers errors",
			break_: func(mr *miniredis.Miniredis) { mr.SetError("LOADING Redis is loading the dataset in memory") },
			heal:   func(_ *testing.T, mr *miniredis.Miniredis) { mr.SetError("") },
		},
		{
			name:   "redis down",
			break_: func(mr *miniredis.Miniredis) { mr.Close() },
			heal: func(t *testing.T, mr *miniredis.Miniredis) {
				if err := mr.Restart(); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr := miniredis.RunT(t)
			newClient := func() redis.UniversalClient {
				// No retries: the fault must reach the handler, not be
				// waited out by the client.
				c := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1})
				t.Cleanup(func() { c.Close() })
				return c
			}
			key, err := opkit.GenerateKey("ES256", "k1")
			if err != nil {
				t.Fatal(err)
			}
			admin := newClient()
			r := newReplica(t, backend{newClient: newClient, jtiPrefix: "jti:", keyPrefix: "{bcl}:"}, key)
			bind(t, r.store, "s-alice", "alice", "sid-1")
			setSessionData(t, admin, r.store, "s-alice")
			token := mint(t, key, "alice", "sid-1")

			tt.break_(mr)
			code, errCode := post(t, r, token)
			if code != http.StatusBadRequest || errCode != "temporarily_unavailable" {
				t.Fatalf("during the fault: %d %q, want 400 temporarily_unavailable", code, errCode)
			}
			tt.heal(t, mr)
			if !exists(t, admin, r.store, "s-alice") {
				t.Fatal("a failed logout half-deleted the session")
			}
			if code, errCode := post(t, r, token); code != http.StatusOK {
				t.Fatalf("the OP's retry after recovery: %d %q, want 200", code, errCode)
			}
			if exists(t, admin, r.store, "s-alice") {
				t.Error("the retry did not end the session")
			}
			if code, _ := post(t, r, token); code != http.StatusBadRequest {
				t.Errorf("a third delivery: %d, want 400 (replay)", code)
			}
		})
	}
}

// slowEnder ends sessions through a store while the Redis clock runs far
// past the store deadline, as a logout stuck behind a slow store would.
type slowEnder struct {
	store sessionadapter.Store
	mr    *miniredis.Miniredis
	took  time.Duration
}

func (e *slowEnder) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	e.mr.FastForward(e.took)
	return e.store.EndSessions(ctx, l)
}

// A logout that takes minutes still consumes its token: the same token
// delivered again, before or after the slow logout finished, is a replay
// (a reservation that expired after 30 s would not be).
func TestSlowLogoutIsNotReplayed(t *testing.T) {
	client, mr := redistest.Miniredis(t)
	key, v := newES256Verifier(t)
	cache, err := redisreplay.New(client, "jti:")
	if err != nil {
		t.Fatal(err)
	}
	store, err := redisadapter.New(client, redisadapter.WithKeyPrefix("{bcl}:"))
	if err != nil {
		t.Fatal(err)
	}
	ender := &slowEnder{store: store, mr: mr, took: 2 * time.Minute}
	h, err := rp.NewHandler(v, ender, rp.WithReplayCache(cache), rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := &replica{store: redisData{store, "{bcl}:session:%s"}, srv: srv} // the default key format

	bind(t, store, "s-alice", "alice", "sid-1")
	token := mint(t, key, "alice", "sid-1")
	if code, errCode := post(t, r, token); code != http.StatusOK {
		t.Fatalf("the slow logout: %d %q, want 200", code, errCode)
	}
	ender.took = 0
	if code, errCode := post(t, r, token); code != http.StatusBadRequest || errCode != "invalid_request" {
		t.Fatalf("the same token after a slow logout: %d %q, want 400 invalid_request (replay)", code, errCode)
	}
}

// newES256Verifier returns a new ES256 key (kid k1) and a Verifier that
// trusts that key alone (verifierFor).
func newES256Verifier(t testing.TB) (*opkit.Key, *rp.Verifier) {
	t.Helper()
	key, err := opkit.GenerateKey("ES256", "k1")
	if err != nil {
		t.Fatal(err)
	}
	return key, verifierFor(t, key)
}

// verifierFor returns a Verifier of issuer's ES256 tokens for clientID
// that trusts key alone.
func verifierFor(t testing.TB, key *opkit.Key) *rp.Verifier {
	t.Helper()
	keys, err := jwks.ParseKeySet(opkit.JWKS(key.PublicJWK()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := rp.NewVerifier(issuer, clientID, keys, rp.WithAlgorithms("ES256"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
