package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"

	"github.com/bclogout/bclogout/internal/testclock"
)

// WindowHarness is a store that deletes session data, at the logout and
// once more when its in-flight window has passed.
type WindowHarness struct {
	Harness
	// Advance moves the store's clock (and its backend's, for Redis TTLs)
	// forward by d.
	Advance func(t testing.TB, d time.Duration)
	// EndDue runs the second deletions that are due, as the store's own
	// timer or loop would.
	EndDue func(ctx context.Context) (int, error)
}

// RunWindow checks the second deletion of a sessionadapter.Windowed store:
// a session written back after its logout by a request in flight (race
// (a)) and one bound after the logout by a login that raced it (race (b))
// are deleted when the window has passed, and a fresh login is not.
func RunWindow(t *testing.T, newStore func(t *testing.T) WindowHarness) {
	ctx := context.Background()
	h := newStore(t)
	w, ok := h.Store.(interface{ InFlightWindow() time.Duration })
	if _, windowed := h.Store.(sessionadapter.Windowed); !ok || !windowed || w.InFlightWindow() <= 0 {
		t.Fatalf("%T reports no in-flight window", h.Store)
	}
	window := w.InFlightWindow()
	t0 := time.Now().Truncate(time.Second)
	bind := func(id, sid string, login time.Time) {
		t.Helper()
		h.Create(t, id)
		err := h.Store.Bind(ctx, sessionadapter.Binding{Issuer: iss1, Subject: "alice", SessionID: sid, LocalID: id, LoginTime: login})
		if err != nil {
			t.Fatal(err)
		}
	}
	bind("resurrected", "s1", t0.Add(-time.Hour))
	bind("unrelated", "s9", t0.Add(-time.Hour))
	logout := sessionadapter.Logout{Issuer: iss1, Subject: "alice", SessionID: "s1", IssuedAt: t0}
	if n, err := h.Store.EndSessions(ctx, logout); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v, want 1, nil", n, err)
	}
	if h.Alive(t, "resurrected") {
		t.Fatal("the logout left the session data")
	}
	// Race (a): a request that loaded the session before the logout saves
	// it afterwards. Race (b): a login whose ID token predates the logout
	// binds its session after it. A fresh login of the same OP session is
	// not ended (a new OP session gets a new sid in practice; a sub-wide
	// logout meets this case).
	h.Create(t, "resurrected")
	bind("late", "s1", t0.Add(-time.Second))
	bind("fresh", "s1", t0.Add(time.Second))

	h.Advance(t, window/2)
	if _, err := h.EndDue(ctx); err != nil {
		t.Fatal(err)
	}
	if !h.Alive(t, "resurrected") || !h.Alive(t, "late") {
		t.Fatal("second deletion ran before the window passed")
	}
	h.Advance(t, window/2+time.Second)
	if _, err := h.EndDue(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"resurrected": false, "late": false, "fresh": true, "unrelated": true} {
		if got := h.Alive(t, id); got != want {
			t.Errorf("after the window: session %s alive = %v, want %v", id, got, want)
		}
	}
	// Idempotent: running again changes nothing.
	if _, err := h.EndDue(ctx); err != nil {
		t.Fatal(err)
	}
	if !h.Alive(t, "fresh") || !h.Alive(t, "unrelated") {
		t.Error("a second run of EndDue ended a live session")
	}
}

// SyncClock is a Clock safe for concurrent use, for stores whose timers
// read it from another goroutine: the project's one test clock.
type SyncClock = testclock.Clock

// NewSyncClock returns a SyncClock at t.
func NewSyncClock(t time.Time) *SyncClock { return testclock.New(t) }
