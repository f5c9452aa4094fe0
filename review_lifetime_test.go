package bclogout_test

import (
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/sessionadapter"
)

// TestReviewRevocationOutlivedBySession (from the outside review): the
// front door used to keep every revocation for 30 days, with no way to say
// the app's sessions live longer (a gorilla CookieStore with a 90-day
// MaxAge, scs with a "remember me" Lifetime); Config.SessionLifetime says
// it now. Before, a logout's revocation was forgotten while the session it
// ended was still valid, and a copy of that session (a stolen cookie, the very
// thing a logout is for, or a request in flight that writes it back) is
// served as signed in again from day 31. The README says the lifetime is
// 30 days "by default". Config.SessionLifetime now says how long.
func TestReviewRevocationOutlivedBySession(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	revs, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, bclogout.Config{Revocations: revs, SessionLifetime: 90 * 24 * time.Hour})
	c := a.login(t, "alice", "sid-a")
	a.sessions.mu.Lock()
	stolen := maps.Clone(a.sessions.data[c.Value])
	a.sessions.mu.Unlock()
	if code := a.logout(t, "alice", "sid-a"); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	mu.Lock()
	now = now.Add(31 * 24 * time.Hour) // the session library keeps sessions 90 days
	mu.Unlock()
	a.sessions.writeBack(c.Value, stolen)
	if got := a.page(t, c); got != "anonymous" {
		t.Fatalf("31 days after its logout, a copy of the logged-out session is %q: its revocation was kept 30 days and the front door cannot be told the sessions live longer", got)
	}
}
