package sessionadapter_test

import (
	"context"
	"errors"
	"fmt"
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
