package bclogout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// An RP nobody closes keeps working after the test that made it has
// ended: a logout its revocation store failed is retried in the
// background, ends the session and runs the app's OnLogout (and logs
// through Config.Logger) once the store is back, whatever test is running
// then. A test that leaves a store failure behind must close its RP (as
// closeRP does), or its hooks and logger outlive it: a logger writing to
// that test's t panics once the test is over.
func TestRPLeftOpenRetriesAfterItsTestEnded(t *testing.T) {
	mem, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	revs := &flakyRevocations{Revocations: mem}
	var ended, afterTest atomic.Bool
	var hooked atomic.Int64
	var left *bclogout.RP
	var issuer string
	t.Run("app", func(t *testing.T) {
		op := opkit.New(t) // closed when this test ends: the OP goes away
		bl, err := bclogout.New(t.Context(), bclogout.Config{
			Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions(), Revocations: revs,
			OnLogout: func(context.Context, *rp.LogoutEvent, int) {
				hooked.Add(1)
				afterTest.Store(ended.Load())
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		left = bl // not closed: "a test need not call it"
		issuer = op.Issuer()
		tok, err := op.SignLogoutToken("app", "alice", "sid-a")
		if err != nil {
			t.Fatal(err)
		}
		revs.down.Store(true)
		r := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		bl.BackChannel().ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("logout with the revocations down: %d, want 400", w.Code)
		}
	})
	ended.Store(true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = left.Close(ctx)
	})
	// Until the retry runs, the logout has recorded nothing: a process
	// that exits now (no Close, or a store still down) loses it.
	alice := sessionadapter.Binding{Issuer: issuer, Subject: "alice", SessionID: "sid-a", LocalID: "l", LoginTime: time.Now().Add(-time.Minute)}
	if revoked, err := mem.Revoked(t.Context(), alice); err != nil || revoked {
		t.Fatalf("before the retry: revoked %v, %v; want nothing recorded", revoked, err)
	}
	revs.down.Store(false)
	for deadline := time.Now().Add(10 * time.Second); hooked.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the retry never ran")
		}
	}
	if !afterTest.Load() {
		t.Fatal("OnLogout ran before the test ended")
	}
	if revoked, err := mem.Revoked(t.Context(), alice); err != nil || !revoked {
		t.Errorf("after the retry: revoked %v, %v; want the revocation recorded", revoked, err)
	}
	t.Logf("the unclosed RP ran OnLogout %d time(s) after its test ended", hooked.Load())
}
