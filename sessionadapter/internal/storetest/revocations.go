package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
)

// RunRevocations checks the Revocations contract on fresh instances from
// newRev.
func RunRevocations(t *testing.T, newRev func(t *testing.T) sessionadapter.Revocations) {
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	before, after := t0.Add(-time.Minute), t0.Add(time.Minute)
	session := sessionadapter.Binding{Issuer: iss1, Subject: "alice", SessionID: "s1", LocalID: "c", LoginTime: t0}
	tests := []struct {
		name    string
		revoke  sessionadapter.Logout
		check   sessionadapter.Binding
		want    bool
		wantErr error
	}{
		{name: "sid logout after login", revoke: sessionadapter.Logout{Issuer: iss1, SessionID: "s1", IssuedAt: after}, check: session, want: true},
		{name: "logout at login time", revoke: sessionadapter.Logout{Issuer: iss1, SessionID: "s1", IssuedAt: t0}, check: session, want: true},
		{name: "fresh login after logout", revoke: sessionadapter.Logout{Issuer: iss1, SessionID: "s1", IssuedAt: t0.Add(-defaults.SIDClockSkew - time.Second)}, check: session},
		{name: "sid logout within the OP clock skew", revoke: sessionadapter.Logout{Issuer: iss1, SessionID: "s1", IssuedAt: t0.Add(-2 * time.Second)}, check: session, want: true},
		{name: "sid logout at the skew bound", revoke: sessionadapter.Logout{Issuer: iss1, SessionID: "s1", IssuedAt: t0.Add(-defaults.SIDClockSkew)}, check: session, want: true},
		{name: "sub logout before login is strict", revoke: sessionadapter.Logout{Issuer: iss1, Subject: "alice", IssuedAt: t0.Add(-time.Second)}, check: session},
		{name: "sub logout catches every session", revoke: sessionadapter.Logout{Issuer: iss1, Subject: "alice", IssuedAt: after},
			check: sessionadapter.Binding{Issuer: iss1, Subject: "alice", SessionID: "older", LoginTime: t0}, want: true},
		{name: "sid with matching sub", revoke: sessionadapter.Logout{Issuer: iss1, Subject: "alice", SessionID: "s1", IssuedAt: after}, check: session, want: true},
		{name: "sid with other sub", revoke: sessionadapter.Logout{Issuer: iss1, Subject: "bob", SessionID: "s1", IssuedAt: after}, check: session},
		{name: "sid, session without sub", revoke: sessionadapter.Logout{Issuer: iss1, Subject: "bob", SessionID: "s1", IssuedAt: after},
			check: sessionadapter.Binding{Issuer: iss1, SessionID: "s1", LoginTime: t0}, want: true},
		{name: "sid does not end other sids", revoke: sessionadapter.Logout{Issuer: iss1, Subject: "alice", SessionID: "s2", IssuedAt: after}, check: session},
		{name: "other issuer", revoke: sessionadapter.Logout{Issuer: iss2, Subject: "alice", IssuedAt: after}, check: session},
		{name: "no issuer", revoke: sessionadapter.Logout{Subject: "alice"}, check: session, wantErr: sessionadapter.ErrInvalid},
		{name: "dated before 1970", revoke: sessionadapter.Logout{Issuer: iss1, SessionID: "s1", IssuedAt: time.Unix(-60, 0)}, check: session, wantErr: sessionadapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev := newRev(t)
			if err := rev.Revoke(ctx, tt.revoke, time.Hour); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Revoke err = %v, want %v", err, tt.wantErr)
			}
			got, err := rev.Revoked(ctx, tt.check)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Revoked = %v, want %v", got, tt.want)
			}
		})
	}

	// Two sid logouts that name different subs must not merge into "this
	// sid, any sub": each sub keeps its own revocation, so a session
	// whose sub neither named survives (a mismatch ends nothing), while a
	// logout without a sub (Ory Hydra sends none) still ends the sid for
	// any sub.
	skewed := t0.Add(-defaults.SIDClockSkew - time.Second)
	bob := sessionadapter.Binding{Issuer: iss1, Subject: "bob", SessionID: "s1", LocalID: "b", LoginTime: t0}
	noSub := sessionadapter.Binding{Issuer: iss1, SessionID: "s1", LocalID: "n", LoginTime: t0}
	type check struct {
		b    sessionadapter.Binding
		want bool
	}
	sidTests := []struct {
		name    string
		revokes []sessionadapter.Logout
		checks  []check
	}{
		{name: "two subs named, a third survives", revokes: []sessionadapter.Logout{
			{Issuer: iss1, Subject: "bob", SessionID: "s1", IssuedAt: after},
			{Issuer: iss1, Subject: "carol", SessionID: "s1", IssuedAt: after},
		}, checks: []check{{session, false}, {bob, true}, {noSub, true}}},
		{name: "sub named, then no sub", revokes: []sessionadapter.Logout{
			{Issuer: iss1, Subject: "bob", SessionID: "s1", IssuedAt: after},
			{Issuer: iss1, SessionID: "s1", IssuedAt: after},
		}, checks: []check{{session, true}, {bob, true}}},
		{name: "no sub, then sub named", revokes: []sessionadapter.Logout{
			{Issuer: iss1, SessionID: "s1", IssuedAt: after},
			{Issuer: iss1, Subject: "bob", SessionID: "s1", IssuedAt: after},
		}, checks: []check{{session, true}, {bob, true}}},
		{name: "each sub keeps its own time", revokes: []sessionadapter.Logout{
			{Issuer: iss1, Subject: "bob", SessionID: "s1", IssuedAt: after},
			{Issuer: iss1, Subject: "alice", SessionID: "s1", IssuedAt: skewed},
		}, checks: []check{{session, false}, {bob, true}}},
		{name: "no-sub time is not a named sub's", revokes: []sessionadapter.Logout{
			{Issuer: iss1, SessionID: "s1", IssuedAt: skewed},
			{Issuer: iss1, Subject: "bob", SessionID: "s1", IssuedAt: after},
		}, checks: []check{{session, false}, {bob, true}, {noSub, true}}},
	}
	for _, tt := range sidTests {
		t.Run(tt.name, func(t *testing.T) {
			rev := newRev(t)
			for _, l := range tt.revokes {
				if err := rev.Revoke(ctx, l, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tt.checks {
				got, err := rev.Revoked(ctx, c.b)
				if err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("Revoked(sub %q) = %v, want %v", c.b.Subject, got, c.want)
				}
			}
		})
	}

	t.Run("latest revocation wins", func(t *testing.T) {
		rev := newRev(t)
		for _, at := range []time.Time{after, before} {
			if err := rev.Revoke(ctx, sessionadapter.Logout{Issuer: iss1, Subject: "alice", IssuedAt: at}, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := rev.Revoked(ctx, session); err != nil || !got {
			t.Fatalf("Revoked = %v, %v, want true: an older revocation must not overwrite a newer one", got, err)
		}
	})

	// An ended context is an unknown answer, never "not revoked"; and
	// nothing is recorded for it.
	t.Run("ended context", func(t *testing.T) {
		rev := newRev(t)
		done, cancel := context.WithCancel(ctx)
		cancel()
		if got, err := rev.Revoked(done, session); !errors.Is(err, context.Canceled) {
			t.Errorf("Revoked(ended context) = %v, %v; want context.Canceled", got, err)
		}
		if err := rev.Revoke(done, sessionadapter.Logout{Issuer: iss1, SessionID: "s1", IssuedAt: after}, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("Revoke(ended context) = %v; want context.Canceled", err)
		}
	})

	t.Run("keepFor must be positive", func(t *testing.T) {
		rev := newRev(t)
		err := rev.Revoke(ctx, sessionadapter.Logout{Issuer: iss1, Subject: "alice"}, 0)
		if !errors.Is(err, errs.ErrInvalidConfig) {
			t.Fatalf("Revoke(keepFor 0) = %v, want ErrInvalidConfig", err)
		}
	})
}
