package integration_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/replay/redisreplay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/redis/go-redis/v9"
)

// lostReplyHook lets Redis apply the first SET ... NX (redisreplay's
// Reserve) and then loses its reply, as a read timeout, a dropped
// connection or a failover right after the write does.
// failNext commands after it fail without reaching Redis, as a
// connection that stays down for a while does.
type lostReplyHook struct {
	done     atomic.Bool
	failNext atomic.Int32
}

func (*lostReplyHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (*lostReplyHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *lostReplyHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.done.Load() && h.failNext.Add(-1) >= 0 {
			down := &net.OpError{Op: "write", Net: "tcp", Err: errors.New("connection down")}
			cmd.SetErr(down)
			return down
		}
		err := next(ctx, cmd)
		if err == nil && cmd.Name() == "set" && strings.Contains(strings.ToLower(cmd.String()), " nx") && h.done.CompareAndSwap(false, true) {
			lost := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("i/o timeout (reply lost)")}
			cmd.SetErr(lost)
			return lost
		}
		return err
	}
}

// TestLostReserveReplyKeepsLogout: Redis applies Reserve's SET NX but
// its reply is lost. The handler answers 400 temporarily_unavailable
// without ending any session; Reserve undoes its own claim (compare-and-
// delete on the token it generated), so the OP's retry of the same token
// succeeds, and the WithRetry queue, handed the claim Reserve named, does
// not take it for another delivery's completed logout.
// SPEC-NOTES: a failed logout must "not consume the jti, so the OP's
// retry can still succeed". (Found by the outside review, branch review.)
func TestLostReserveReplyKeepsLogout(t *testing.T) {
	// The OP's retry finds the pair free: Reserve undid its claim.
	lostReserveReply(t, 0, http.StatusOK, "")
}

// TestLostReserveReplyStuckClaim: Redis does not answer Reserve's undo
// either, so its claim stands until the token expires and the OP's retry,
// a claim of its own, is refused as a replay. That is the bound: the retry
// queue, handed the claim the failed Reserve named, releases it, reserves
// afresh and ends the sessions.
func TestLostReserveReplyStuckClaim(t *testing.T) {
	lostReserveReply(t, 1, http.StatusBadRequest, "invalid_request")
}

func lostReserveReply(t *testing.T, failAfterLoss int32, wantRetryCode int, wantRetryErr string) {
	client, _ := redistest.Miniredis(t)
	hook := &lostReplyHook{}
	hook.failNext.Store(failAfterLoss)
	client.AddHook(hook)
	client.AddHook(hook)

	key, err := fakeop.GenerateKey("ES256", "k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.ParseKeySet(fakeop.JWKS(key.PublicJWK()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := rp.NewVerifier(issuer, clientID, keys, rp.WithAlgorithms("ES256"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := redisreplay.New(client, redisreplay.WithPrefix(redistest.Prefix(t, client)))
	if err != nil {
		t.Fatal(err)
	}
	store, err := redisadapter.New(client, redisadapter.WithKeyPrefix(redistest.TaggedPrefix(t, client)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := rp.NewHandler(v, store, rp.WithReplayCache(cache), rp.WithLogoutTimeout(2*time.Second),
		rp.WithRetry(rp.RetryPolicy{}), rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := &replica{store: store, srv: srv}

	bind(t, store, "s-alice", "alice", "sid-1")
	setSessionData(t, client, store, "s-alice")
	token := mint(t, key, "alice", "sid-1")

	if code, errCode := post(t, r, token); code != http.StatusBadRequest || errCode != "temporarily_unavailable" {
		t.Fatalf("first delivery: %d %q, want 400 temporarily_unavailable", code, errCode)
	}
	if !exists(t, client, store, "s-alice") {
		t.Fatal("precondition: the failed first delivery must not have ended the session")
	}
	// The OP retries, as it is told to.
	if code, errCode := post(t, r, token); code != wantRetryCode || errCode != wantRetryErr {
		t.Errorf("OP's retry after a temporary failure: %d %q, want %d %q", code, errCode, wantRetryCode, wantRetryErr)
	}
	// Close drains the handler's retry queue (WithRetry, as
	// examples/gorilla runs): it must not undo or lose the logout.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if exists(t, client, store, "s-alice") {
		t.Error("the logout was dropped: alice's session is still there after the OP's retry and the retry queue")
	}
}
