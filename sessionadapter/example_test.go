package sessionadapter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// An app binds each local session at login, from the ID token's claims,
// and hands the store to the back-channel logout handler as its Ender.
func ExampleNewMemory() {
	ctx := context.Background()
	sessions := map[string]string{"local-1": "alice's cart", "local-2": "bob's cart"}
	store, err := sessionadapter.NewMemory(
		sessionadapter.WithSessionLifetime(8*time.Hour),
		sessionadapter.WithDeleter(deleterFunc(func(_ context.Context, id string) error {
			delete(sessions, id)
			return nil
		})),
	)
	if err != nil {
		panic(err)
	}
	// At login: iss, sub, sid and iat come from the validated ID token.
	_ = store.Bind(ctx, sessionadapter.Binding{
		Issuer: "https://op.example", Subject: "alice", SessionID: "op-sid-1",
		LocalID: "local-1", LoginTime: time.Unix(1_700_000_000, 0),
	})
	_ = store.Bind(ctx, sessionadapter.Binding{
		Issuer: "https://op.example", Subject: "bob", SessionID: "op-sid-2",
		LocalID: "local-2", LoginTime: time.Unix(1_700_000_000, 0),
	})

	// A logout token for alice's OP session arrives.
	n, err := store.EndSessions(ctx, sessionadapter.Logout{Issuer: "https://op.example", SessionID: "op-sid-1"})
	fmt.Println(n, err, len(sessions), sessions["local-2"])
	// Output: 1 <nil> 1 bob's cart
}

// Every app records each logout as a revocation, which the middleware's
// Guard checks on every request, and lets the store delete what it can.
// A login that raced its own logout is refused.
func ExampleNewRevokingEnder() {
	ctx := context.Background()
	files := map[string]bool{"local-1": true}
	store, _ := sessionadapter.NewMemory(sessionadapter.WithDeleter(deleterFunc(func(_ context.Context, id string) error {
		delete(files, id)
		return nil
	})))
	rev, _ := sessionadapter.NewMemoryRevocations()
	ender, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store)) // give it to rp.NewHandler

	login := time.Unix(1_700_000_000, 0)
	alice := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1", LocalID: "local-1", LoginTime: login}
	_ = ender.Bind(ctx, alice)
	_, _ = ender.EndSessions(ctx, sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-1", IssuedAt: login.Add(time.Minute)})

	revoked, _ := rev.Revoked(ctx, alice) // what the guard asks on each request
	late := alice
	late.LocalID = "local-2" // a login callback still in flight, ID token from before the logout
	err := ender.Bind(ctx, late)
	fmt.Println(len(files), revoked, errors.Is(err, sessionadapter.ErrRevoked))
	// Output: 0 true true
}

// deleterFunc adapts a function to sessionadapter.Deleter: a store's own
// type implements DeleteSession the same way.
type deleterFunc func(ctx context.Context, localID string) error

func (f deleterFunc) DeleteSession(ctx context.Context, localID string) error { return f(ctx, localID) }
