package sessionadapter_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// TestStoreDefectLateLogoutEndsFreshLogin: a logout token reaches the
// store after the user has signed in again: the OP's delivery was late
// (Hydra delivers in the background and retries; a token stays acceptable
// for max age, 5 min), or rp.WithRetry retried it after a store outage
// (for up to 30 days). The revocation spares the new session (its login
// is after the logout's iat), as RevokingEnder and rp.WithRetry document,
// but the memory store's EndSessions used to end every session of (iss,
// sub) whatever its login time, so the user's fresh session was deleted. The same holds for redisadapter's endScript
// (endLogout with notAfter = nil) and for sid logouts under
// WithEndAllUserSessions (Keycloak's "log out all sessions").
func TestStoreDefectLateLogoutEndsFreshLogin(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var deleted []string
	del := deleterFunc(func(_ context.Context, id string) error {
		mu.Lock()
		defer mu.Unlock()
		deleted = append(deleted, id)
		return nil
	})
	store, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(del))
	if err != nil {
		t.Fatal(err)
	}
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	logoutAt := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	// Alice signed in again a minute after the OP logged her out.
	fresh := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "sid-new",
		LocalID: "fresh", LoginTime: logoutAt.Add(time.Minute)}
	if err := ender.Bind(ctx, fresh); err != nil {
		t.Fatalf("fresh login refused: %v", err)
	}
	// The logout token (sub-scoped, issued before that login) arrives now.
	if _, err := ender.EndSessions(ctx, sessionadapter.Logout{Issuer: "https://op.example", Subject: "alice", IssuedAt: logoutAt}); err != nil {
		t.Fatal(err)
	}
	if revoked, _ := rev.Revoked(ctx, fresh); revoked {
		t.Fatal("precondition: the revocation must spare a login after the logout")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(deleted) != 0 {
		t.Errorf("a logout issued before the login deleted the fresh session's data: %v", deleted)
	}
}
