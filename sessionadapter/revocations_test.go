package sessionadapter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
)

func TestMemoryRevocations(t *testing.T) {
	storetest.RunRevocations(t, func(t *testing.T) sessionadapter.Revocations {
		r, err := sessionadapter.NewMemoryRevocations()
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}

func TestMemoryRevocationsExpire(t *testing.T) {
	ctx := context.Background()
	clock := &storetest.Clock{T: time.Unix(1_700_000_000, 0)}
	r, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	login := clock.T.Add(-time.Minute)
	must(t, r.Revoke(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u", IssuedAt: clock.T}, time.Hour))
	b := sessionadapter.Binding{Issuer: "i", Subject: "u", LocalID: "c", LoginTime: login}
	if got, _ := r.Revoked(ctx, b); !got {
		t.Fatal("Revoked = false within keepFor")
	}
	clock.T = clock.T.Add(time.Hour + time.Second)
	if got, _ := r.Revoked(ctx, b); got {
		t.Fatal("Revoked = true after keepFor")
	}
	// Many revocations over time: expired ones are forgotten as we go.
	for i := range 10_000 {
		clock.T = clock.T.Add(time.Second)
		must(t, r.Revoke(ctx, sessionadapter.Logout{Issuer: "i", Subject: fmt.Sprint(i), IssuedAt: clock.T}, time.Minute))
	}
	if n := sessionadapter.RevocationsLen(r); n > 100 {
		t.Fatalf("%d revocations kept, want about the 60 live ones", n)
	}
}

func TestRevokingEnder(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		logout  sessionadapter.Logout
		other   sessionadapter.Binding // another session of the same user
		want    bool                   // other is revoked
		wantErr error
	}{
		{name: "sid only revokes the sid", logout: sessionadapter.Logout{Issuer: "i", Subject: "u", SessionID: "s1", IssuedAt: t0},
			other: sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s2", LoginTime: t0}},
		{name: "sub only revokes all the user's sessions", logout: sessionadapter.Logout{Issuer: "i", Subject: "u", IssuedAt: t0},
			other: sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s2", LoginTime: t0}, want: true},
		{name: "invalid logout", logout: sessionadapter.Logout{Issuer: "i"}, wantErr: sessionadapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := sessionadapter.NewMemoryRevocations()
			must(t, err)
			e, err := sessionadapter.NewRevokingEnder(rev)
			must(t, err)
			n, err := e.EndSessions(ctx, tt.logout)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EndSessions err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if n != 1 {
				t.Errorf("EndSessions = %d, want 1 revocation", n)
			}
			named := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s1", LoginTime: t0}
			if got, _ := rev.Revoked(ctx, named); !got {
				t.Error("the named session is not revoked")
			}
			if got, _ := rev.Revoked(ctx, tt.other); got != tt.want {
				t.Errorf("other session revoked = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := sessionadapter.NewRevokingEnder(nil); !errors.Is(err, errs.ErrInvalidConfig) {
		t.Fatalf("NewRevokingEnder(nil) = %v, want ErrInvalidConfig", err)
	}
}

func TestMemoryRevocationsSIDClockSkew(t *testing.T) {
	ctx := context.Background()
	login := time.Unix(1_700_000_000, 0)
	session := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s", LocalID: "c", LoginTime: login}
	tests := []struct {
		name   string
		opts   []sessionadapter.Option
		logout time.Duration // logout iat relative to the login's
		want   bool
	}{
		{name: "default tolerates a node 2 s behind", logout: -2 * time.Second, want: true},
		// The ID token from OP node A, the logout a second later from
		// node B, 2 s behind A (clustered Keycloak, ZITADEL). A fresh
		// login gets a new sid, so tolerating the skew spares no one.
		{name: "default ends a logout a second later from a node 2 s behind", logout: -time.Second, want: true},
		{name: "default spares a login clearly newer", logout: -defaults.SIDClockSkew - time.Millisecond},
		{name: "zero skew is strict", opts: []sessionadapter.Option{sessionadapter.WithSIDClockSkew(0)}, logout: -time.Millisecond},
		{name: "zero skew, logout after login", opts: []sessionadapter.Option{sessionadapter.WithSIDClockSkew(0)}, logout: 0, want: true},
		{name: "larger skew", opts: []sessionadapter.Option{sessionadapter.WithSIDClockSkew(5 * time.Minute)}, logout: -4 * time.Minute, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := sessionadapter.NewMemoryRevocations(tt.opts...)
			must(t, err)
			must(t, r.Revoke(ctx, sessionadapter.Logout{Issuer: "i", SessionID: "s", IssuedAt: login.Add(tt.logout)}, time.Hour))
			if got, _ := r.Revoked(ctx, session); got != tt.want {
				t.Errorf("Revoked = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithSIDClockSkew(-time.Second)); !errors.Is(err, errs.ErrInvalidConfig) {
		t.Errorf("negative skew: err = %v, want ErrInvalidConfig", err)
	}
}

func TestNewRevokingEnderInvalid(t *testing.T) {
	rev, _ := sessionadapter.NewMemoryRevocations()
	tests := []struct {
		name    string
		rev     sessionadapter.Revocations
		opts    []sessionadapter.Option
		wantErr error
	}{
		{name: "defaults", rev: rev},
		{name: "lifetime", rev: rev, opts: []sessionadapter.Option{sessionadapter.WithSessionLifetime(8 * time.Hour)}},
		{name: "nil revocations", wantErr: errs.ErrInvalidConfig},
		{name: "nil store", rev: rev, opts: []sessionadapter.Option{sessionadapter.WithStore(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero option", rev: rev, opts: []sessionadapter.Option{{}}, wantErr: errs.ErrInvalidConfig},
		{name: "nil logger", rev: rev, opts: []sessionadapter.Option{sessionadapter.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero lifetime", rev: rev, opts: []sessionadapter.Option{sessionadapter.WithSessionLifetime(0)}, wantErr: errs.ErrInvalidConfig},
		{name: "option of another constructor", rev: rev, opts: []sessionadapter.Option{sessionadapter.WithDeleter(newDataStore())}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sessionadapter.NewRevokingEnder(tt.rev, tt.opts...); !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewRevokingEnder err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// newClockedEnder builds, on a test clock of their own, the in-memory
// store (deleting through d), the in-memory revocations and the
// RevokingEnder over both, which keeps a revocation for 8 hours.
func newClockedEnder(t *testing.T, d sessionadapter.Deleter) (*storetest.SyncClock, sessionadapter.Store, sessionadapter.Revocations, sessionadapter.Store) {
	t.Helper()
	clock := storetest.NewSyncClock(time.Unix(1_700_000_000, 0))
	store, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(d), sessionadapter.WithClock(clock.Now))
	must(t, err)
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	must(t, err)
	e, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store), sessionadapter.WithSessionLifetime(8*time.Hour))
	must(t, err)
	return clock, store, rev, e
}

// Both races against a server-side store, through one RevokingEnder: the
// written-back session is revoked (the guard's answer) for the session
// lifetime; the late login is refused with ErrRevoked, and unbound, while
// a login newer than the logout binds.
func TestRevokingEnderRaces(t *testing.T) {
	ctx := context.Background()
	d := newDataStore()
	clock, store, rev, e := newClockedEnder(t, d)

	logoutAt := clock.Now()
	old := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s1", LocalID: "a", LoginTime: logoutAt.Add(-time.Hour)}
	d.create(t, "a")
	must(t, e.Bind(ctx, old))

	// (a) the request loaded the session; the logout comes; the request saves.
	if n, err := e.EndSessions(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u", SessionID: "s1", IssuedAt: logoutAt}); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v", n, err)
	}
	if d.alive(t, "a") {
		t.Fatal("the logout did not delete the session data")
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
	if sessionadapter.BindingCount(store) != 0 {
		t.Errorf("the refused login is still bound (%d bindings)", sessionadapter.BindingCount(store))
	}
	fresh := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s2", LocalID: "c", LoginTime: logoutAt.Add(time.Second)}
	d.create(t, "c")
	if err := e.Bind(ctx, fresh); err != nil {
		t.Fatalf("Bind of a login after the logout = %v, want nil", err)
	}

	// The written-back session stays revoked for the whole lifetime.
	clock.Advance(8*time.Hour - time.Second)
	if got, _ := rev.Revoked(ctx, old); !got {
		t.Fatal("the revocation expired before the session lifetime")
	}
	clock.Advance(2 * time.Second)
	if got, _ := rev.Revoked(ctx, old); got {
		t.Error("the revocation outlived its keep")
	}
}

// The revocation is recorded before anything is deleted: a store that
// fails still leaves the session revoked, and the retry completes it.
func TestRevokingEnderRevokesBeforeDeleting(t *testing.T) {
	ctx := context.Background()
	d := newDataStore()
	clock := storetest.NewSyncClock(time.Now())
	store, _ := sessionadapter.NewMemory(sessionadapter.WithDeleter(d), sessionadapter.WithClock(clock.Now))
	rev, _ := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	e, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store))
	b := sessionadapter.Binding{Issuer: "i", Subject: "u", LocalID: "a", LoginTime: clock.Now().Add(-time.Hour)}
	d.create(t, "a")
	must(t, e.Bind(ctx, b))
	d.fail = errors.New("disk on fire")
	l := sessionadapter.Logout{Issuer: "i", Subject: "u", IssuedAt: clock.Now()}
	if _, err := e.EndSessions(ctx, l); !errors.Is(err, d.fail) {
		t.Fatalf("EndSessions = %v, want the Deleter's error", err)
	}
	if got, _ := rev.Revoked(ctx, b); !got {
		t.Fatal("a failed deletion left the session unrevoked")
	}
	// The data may never be deleted (no retry comes): the revocation is
	// kept for the session lifetime.
	clock.Advance(defaults.SessionLifetime - time.Minute)
	if got, _ := rev.Revoked(ctx, b); !got {
		t.Fatal("the revocation of a logout whose deletion failed expired before the lifetime")
	}
	d.fail = nil
	if n, err := e.EndSessions(ctx, l); err != nil || n != 1 {
		t.Fatalf("retry = %d, %v, want 1, nil", n, err)
	}
}

func TestMemoryRevocationsChanged(t *testing.T) {
	ctx := context.Background()
	revs, _ := sessionadapter.NewMemoryRevocations()
	rev, ok := revs.(interface {
		sessionadapter.Revocations
		sessionadapter.Watchable
	})
	if !ok {
		t.Fatal("NewMemoryRevocations is not Watchable")
	}
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
	clock, _, rev, e := newClockedEnder(t, newDataStore())
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
		{time.Hour, true},
		{8*time.Hour - time.Second, true},
		{8*time.Hour + time.Second, false},
	} {
		clock.Set(logoutAt.Add(tt.after))
		if got, _ := rev.Revoked(ctx, unbound); got != tt.want {
			t.Errorf("%v after the logout: revoked = %v, want %v", tt.after, got, tt.want)
		}
	}
}

// A logout token that reaches the store after the user signed in again
// (the OP delivered it late: Hydra delivers in the background and
// retries, and a token stays acceptable for its max age; or rp.WithRetry
// retried it after a store outage) ends the sessions it dated, not the
// fresh one: the revocation spares a login after the logout's iat, and the
// store must not delete that session's data either.
func TestRevokingEnderLateLogoutSparesFreshLogin(t *testing.T) {
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

// A binding without a deadline lives as long as its store keeps bindings,
// whatever the ender's lifetime: a store kept for 90 days still has the
// binding, and deletes the session's data, at a logout on day 31, though
// the ender keeps revocations the default 30 days.
func TestRevokingEnderLeavesTheStoreItsLifetime(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewSyncClock(time.Now()) // the ender dates nothing: any clock
	data := newDataStore()
	data.create(t, "L1")
	store, err := sessionadapter.NewMemory(sessionadapter.WithSessionLifetime(90*24*time.Hour), sessionadapter.WithClock(clock.Now), sessionadapter.WithDeleter(data))
	must(t, err)
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock.Now))
	must(t, err)
	e, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store))
	must(t, err)
	must(t, e.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s1", LocalID: "L1", LoginTime: clock.Now()}))
	clock.Set(clock.Now().Add(31 * 24 * time.Hour))
	n, err := e.EndSessions(ctx, sessionadapter.Logout{Issuer: "i", SessionID: "s1", IssuedAt: clock.Now()})
	must(t, err)
	if n != 1 || data.alive(t, "L1") {
		t.Errorf("a logout on day 31 ended %d sessions (data kept: %v), want the 90-day store's one deleted", n, data.alive(t, "L1"))
	}
}
