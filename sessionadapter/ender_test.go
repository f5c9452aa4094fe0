package sessionadapter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
)

func TestMemoryWindow(t *testing.T) {
	storetest.RunWindow(t, func(t *testing.T) storetest.WindowHarness {
		d := newDataStore()
		clock := storetest.NewSyncClock(time.Now())
		m, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(d), sessionadapter.WithClock(clock.Now),
			sessionadapter.WithInFlightWindow(time.Minute))
		must(t, err)
		t.Cleanup(func() { _ = m.Close() })
		return storetest.WindowHarness{
			Harness: storetest.Harness{Store: m, Create: d.create, Alive: d.alive},
			Advance: func(_ testing.TB, d time.Duration) { clock.Advance(d) },
			EndDue:  m.EndDue,
		}
	})
}

// The timer runs the second deletion by itself.
func TestMemoryTimerEndsAgain(t *testing.T) {
	ctx := context.Background()
	deleted := make(chan string, 4)
	m, err := sessionadapter.NewMemory(sessionadapter.WithInFlightWindow(time.Millisecond),
		sessionadapter.WithDeleter(sessionadapter.DeleterFunc(func(_ context.Context, id string) error {
			deleted <- id
			return nil
		})))
	must(t, err)
	defer m.Close()
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "u", LocalID: "l1", LoginTime: time.Now().Add(-time.Hour)}))
	if _, err := m.EndSessions(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u"}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		select {
		case id := <-deleted:
			if id != "l1" {
				t.Fatalf("deletion %d of %q, want l1", i, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("deletion %d never came", i)
		}
	}
}

func TestNewRevokingEnderKeepFor(t *testing.T) {
	rev, _ := sessionadapter.NewMemoryRevocations()
	deleting, _ := sessionadapter.NewMemory(sessionadapter.WithDeleter(newDataStore()), sessionadapter.WithInFlightWindow(2*time.Minute))
	indexOnly, _ := sessionadapter.NewMemory()
	tests := []struct {
		name    string
		rev     sessionadapter.Revocations
		opts    []sessionadapter.EnderOption
		want    time.Duration
		wantErr error
	}{
		{name: "cookie sessions keep the lifetime", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithSessionLifetime(8 * time.Hour)}, want: 8 * time.Hour},
		{name: "default lifetime", rev: rev, want: sessionadapter.DefaultSessionLifetime},
		{name: "deleting store keeps the lifetime", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithStore(deleting), sessionadapter.WithSessionLifetime(8 * time.Hour)}, want: 8 * time.Hour},
		{name: "short keep opt-in keeps the window", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithStore(deleting), sessionadapter.WithSessionLifetime(8 * time.Hour), sessionadapter.WithShortKeepUnsafeUnlessBindingsComplete()}, want: 2*time.Minute + 24*time.Second},
		{name: "short keep without a store", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithShortKeepUnsafeUnlessBindingsComplete()}, wantErr: errs.ErrInvalidConfig},
		{name: "short keep over a store that deletes nothing", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithStore(indexOnly), sessionadapter.WithShortKeepUnsafeUnlessBindingsComplete()}, wantErr: errs.ErrInvalidConfig},
		{name: "store that deletes nothing keeps the lifetime", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithStore(indexOnly), sessionadapter.WithSessionLifetime(8 * time.Hour)}, want: 8 * time.Hour},
		{name: "nil revocations", wantErr: errs.ErrInvalidConfig},
		{name: "nil store", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithStore(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil option", rev: rev, opts: []sessionadapter.EnderOption{nil}, wantErr: errs.ErrInvalidConfig},
		{name: "nil logger", rev: rev, opts: []sessionadapter.EnderOption{sessionadapter.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := sessionadapter.NewRevokingEnder(tt.rev, tt.opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewRevokingEnder err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && e.KeepFor() != tt.want {
				t.Errorf("KeepFor = %v, want %v", e.KeepFor(), tt.want)
			}
		})
	}
}

// Both races against a server-side store, through one RevokingEnder: the
// written-back session is revoked (the guard's answer) until the second
// deletion removes it; the late login is refused with ErrRevoked while a
// login newer than the logout binds.
func TestRevokingEnderRaces(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewSyncClock(time.Unix(1_700_000_000, 0))
	d := newDataStore()
	store, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(d), sessionadapter.WithClock(clock.Now), sessionadapter.WithInFlightWindow(time.Minute))
	must(t, err)
	defer store.Close()
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	must(t, err)
	// The short keep is opted into here, to show the second deletion
	// covers what the revocation stops covering; by default the
	// revocation is kept for the lifetime (TestRevokingEnderKeepsLifetime).
	e, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store), sessionadapter.WithShortKeepUnsafeUnlessBindingsComplete())
	must(t, err)

	logoutAt := clock.Now()
	old := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s1", LocalID: "a", LoginTime: logoutAt.Add(-time.Hour)}
	d.create(t, "a")
	must(t, e.Bind(ctx, old))

	// (a) the request loaded the session; the logout comes; the request saves.
	if n, err := e.EndSessions(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u", SessionID: "s1", IssuedAt: logoutAt}); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v", n, err)
	}
	d.create(t, "a")
	if got, _ := rev.Revoked(ctx, old); !got {
		t.Fatal("race (a): the written-back session is not revoked")
	}

	// (b) a login whose ID token predates the logout, bound after it.
	late := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s1", LocalID: "b", LoginTime: logoutAt.Add(-time.Second)}
	d.create(t, "b")
	if err := e.Bind(ctx, late); !errors.Is(err, sessionadapter.ErrRevoked) {
		t.Fatalf("race (b): Bind of a login before the logout = %v, want ErrRevoked", err)
	}
	fresh := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s2", LocalID: "c", LoginTime: logoutAt.Add(time.Second)}
	d.create(t, "c")
	if err := e.Bind(ctx, fresh); err != nil {
		t.Fatalf("Bind of a login after the logout = %v, want nil", err)
	}

	// The window passes, but the second deletion may not have come round
	// yet: the revocation must still hold, or the written-back session
	// would be served in between.
	clock.Advance(time.Minute + time.Second)
	if got, _ := rev.Revoked(ctx, old); !got {
		t.Fatal("the revocation expired with the window, before the second deletion could run")
	}
	if _, err := store.EndDue(ctx); err != nil {
		t.Fatal(err)
	}
	// Then the revocation expires: nothing is left to serve.
	clock.Advance(sessionadapter.RevocationKeepFor(time.Minute))
	if got, _ := rev.Revoked(ctx, old); got {
		t.Error("the revocation outlived its keep")
	}
	if d.alive(t, "a") || d.alive(t, "b") || !d.alive(t, "c") {
		t.Errorf("after the window: a %v b %v c %v, want false false true", d.alive(t, "a"), d.alive(t, "b"), d.alive(t, "c"))
	}
}

// The revocation is recorded before anything is deleted: a store that
// fails still leaves the session revoked, and the retry completes it.
func TestRevokingEnderRevokesBeforeDeleting(t *testing.T) {
	ctx := context.Background()
	d := newDataStore()
	clock := storetest.NewSyncClock(time.Now())
	store, _ := sessionadapter.NewMemory(sessionadapter.WithDeleter(d), sessionadapter.WithClock(clock.Now))
	defer store.Close()
	rev, _ := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	e, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store), sessionadapter.WithShortKeepUnsafeUnlessBindingsComplete())
	b := sessionadapter.Binding{Issuer: "i", Subject: "u", LocalID: "a", LoginTime: clock.Now().Add(-time.Hour)}
	d.create(t, "a")
	must(t, e.Bind(ctx, b))
	d.fail = errors.New("disk on fire")
	l := sessionadapter.Logout{Issuer: "i", Subject: "u", IssuedAt: clock.Now()}
	if _, err := e.EndSessions(ctx, l); !errors.Is(err, sessionadapter.ErrDelete) {
		t.Fatalf("EndSessions = %v, want ErrDelete", err)
	}
	if got, _ := rev.Revoked(ctx, b); !got {
		t.Fatal("a failed deletion left the session unrevoked")
	}
	// The data may never be deleted (no retry comes): the revocation is
	// kept for the session lifetime, not the short window.
	clock.Advance(sessionadapter.RevocationKeepFor(sessionadapter.DefaultInFlightWindow) + time.Minute)
	if got, _ := rev.Revoked(ctx, b); !got {
		t.Fatal("the revocation of a logout whose deletion failed expired with the window")
	}
	d.fail = nil
	if n, err := e.EndSessions(ctx, l); err != nil || n != 1 {
		t.Fatalf("retry = %d, %v, want 1, nil", n, err)
	}
}

func TestMemoryRevocationsChanged(t *testing.T) {
	ctx := context.Background()
	rev, _ := sessionadapter.NewMemoryRevocations()
	l := sessionadapter.Logout{Issuer: "i", SessionID: "s", IssuedAt: time.Unix(1_700_000_000, 0)}
	ch := rev.Changed()
	must(t, rev.Revoke(ctx, l, time.Hour))
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by a new revocation")
	}
	ch = rev.Changed()
	must(t, rev.Revoke(ctx, l, 2*time.Hour)) // the same revocation, kept longer: ends nothing new
	select {
	case <-ch:
		t.Fatal("Changed closed by a revocation that ends nothing new")
	default:
	}
	l.IssuedAt = l.IssuedAt.Add(time.Second)
	must(t, rev.Revoke(ctx, l, time.Hour))
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by a later logout")
	}
}

// The guard's check allocates nothing.
func TestMemoryRevocationsRevokedAllocs(t *testing.T) {
	ctx := context.Background()
	rev, _ := sessionadapter.NewMemoryRevocations()
	must(t, rev.Revoke(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u", SessionID: "s"}, time.Hour))
	b := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s2", LocalID: "l", LoginTime: time.Now().Add(time.Hour)}
	if n := testing.AllocsPerRun(100, func() { _, _ = rev.Revoked(ctx, b) }); n != 0 {
		t.Fatalf("Revoked allocates %v times per call, want 0", n)
	}
}

// By default a revocation outlives the store's window and second
// deletion: a session the bindings do not name (a renewed token, bindings
// lost on a restart) is still ended by the guard until the lifetime ends.
func TestRevokingEnderKeepsLifetime(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewSyncClock(time.Unix(1_700_000_000, 0))
	store, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(newDataStore()), sessionadapter.WithClock(clock.Now), sessionadapter.WithInFlightWindow(time.Minute))
	must(t, err)
	defer store.Close()
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	must(t, err)
	e, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store), sessionadapter.WithSessionLifetime(8*time.Hour))
	must(t, err)
	logoutAt := clock.Now()
	// A session the store never heard of (its binding names an older token).
	unbound := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s1", LocalID: "renewed", LoginTime: logoutAt.Add(-time.Hour)}
	if _, err := e.EndSessions(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u", SessionID: "s1", IssuedAt: logoutAt}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		after time.Duration
		want  bool
	}{
		{sessionadapter.RevocationKeepFor(time.Minute) + time.Second, true},
		{8*time.Hour - time.Second, true},
		{8*time.Hour + time.Second, false},
	} {
		clock.Set(logoutAt.Add(tt.after))
		if got, _ := rev.Revoked(ctx, unbound); got != tt.want {
			t.Errorf("%v after the logout: revoked = %v, want %v", tt.after, got, tt.want)
		}
	}
}
