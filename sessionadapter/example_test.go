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
		sessionadapter.WithDeleter(sessionadapter.DeleterFunc(func(_ context.Context, id string) error {
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

// Cookie sessions cannot be deleted server-side: record revocations, and
// let the middleware's Guard check each request against them.
func ExampleNewRevokingEnder() {
	ctx := context.Background()
	rev, _ := sessionadapter.NewMemoryRevocations()
	ender, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithSessionLifetime(24*time.Hour))

	login := time.Unix(1_700_000_000, 0)
	_, _ = ender.EndSessions(ctx, sessionadapter.Logout{Issuer: "https://op.example", Subject: "alice", IssuedAt: login.Add(time.Minute)})

	old := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", LoginTime: login}
	fresh := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", LoginTime: login.Add(time.Hour)}
	a, _ := rev.Revoked(ctx, old)
	b, _ := rev.Revoked(ctx, fresh)
	fmt.Println(a, b)
	// Output: true false
}

// At login, one call turns the validated ID token (coreos/go-oidc's
// *oidc.IDToken, or its claims as JSON) into what the store and the guard
// need.
func ExampleLoginFromIDToken() {
	payload := []byte(`{"iss":"https://op.example","sub":"alice","sid":"op-sid-1","aud":"app","iat":1700000000,"exp":1700003600}`)
	login, err := sessionadapter.LoginFromIDToken(sessionadapter.RawClaims(payload),
		sessionadapter.RequireSessionID()) // the client is registered with backchannel_logout_session_required
	if err != nil {
		panic(err)
	}
	b := login.Binding("local-1", time.Time{})
	fmt.Println(b.Issuer, b.Subject, b.SessionID, b.LocalID, b.LoginTime.UTC().Format(time.RFC3339))

	_, err = sessionadapter.LoginFromIDToken(sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":1700000000}`),
		sessionadapter.RequireSessionID())
	fmt.Println(errors.Is(err, sessionadapter.ErrNoSessionID))
	// Output:
	// https://op.example alice op-sid-1 local-1 2023-11-14T22:13:20Z
	// true
}
