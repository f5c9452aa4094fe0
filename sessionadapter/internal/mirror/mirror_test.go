package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/mirror"
)

// Changed fires for a revocation that can end a session no kept one
// ended, and for Notify; a repeated or older revocation wakes nobody.
func TestChangedFiresForRevocationsThatEndSessions(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := sessionadapter.Logout{Issuer: "i", Subject: "u", SessionID: "s", IssuedAt: t0}
	older := l
	older.IssuedAt = t0.Add(-time.Minute)
	later := l
	later.IssuedAt = t0.Add(time.Minute)
	for _, tt := range []struct {
		name  string
		first []sessionadapter.Logout // recorded before the channel is taken
		then  func(context.Context, *mirror.Mirror) error
		want  bool
	}{
		{name: "new revocation", then: revoke(l), want: true},
		{name: "same again", first: []sessionadapter.Logout{l}, then: revoke(l)},
		{name: "older", first: []sessionadapter.Logout{l}, then: revoke(older)},
		{name: "later", first: []sessionadapter.Logout{l}, then: revoke(later), want: true},
		{name: "invalid logout", then: revoke(sessionadapter.Logout{Issuer: "i"})},
		{name: "nothing", first: []sessionadapter.Logout{l}, then: func(context.Context, *mirror.Mirror) error { return nil }},
		{name: "loss floor raised", then: func(_ context.Context, m *mirror.Mirror) error { m.Notify(); return nil }, want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			m, err := mirror.New(func() time.Time { return t0 })
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.first {
				if err := m.Revoke(ctx, f, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			ch := m.Changed()
			if err := tt.then(ctx, m); err != nil && !errors.Is(err, sessionadapter.ErrInvalid) {
				t.Fatal(err)
			}
			select {
			case <-ch:
				if !tt.want {
					t.Error("Changed fired")
				}
			default:
				if tt.want {
					t.Error("Changed did not fire")
				}
			}
		})
	}
}

func revoke(l sessionadapter.Logout) func(context.Context, *mirror.Mirror) error {
	return func(ctx context.Context, m *mirror.Mirror) error { return m.Revoke(ctx, l, time.Hour) }
}

// The copy answers as the memory revocations do.
func TestRevokedReadsTheCopy(t *testing.T) {
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	m, err := mirror.New(func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	b := sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s", LoginTime: t0.Add(-time.Hour)}
	if got, err := m.Revoked(ctx, b); err != nil || got {
		t.Fatalf("before: Revoked = %v, %v; want false", got, err)
	}
	if err := m.Revoke(ctx, sessionadapter.Logout{Issuer: "i", SessionID: "s", IssuedAt: t0}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Revoked(ctx, b); err != nil || !got {
		t.Fatalf("after: Revoked = %v, %v; want true", got, err)
	}
}

// Sweep forgets every expired revocation at once, however few new ones
// come to sweep them as they are recorded: a burst of logouts gives its
// memory back, and the live revocations stay.
func TestSweepForgetsExpired(t *testing.T) {
	ctx := t.Context()
	now := time.Unix(1_700_000_000, 0)
	m, err := mirror.New(func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	const burst = 5000
	for i := range burst {
		if err := m.Revoke(ctx, sessionadapter.Logout{Issuer: "i", SessionID: fmt.Sprint("s", i)}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Hour)
	live := sessionadapter.Logout{Issuer: "i", SessionID: "live", IssuedAt: now}
	if err := m.Revoke(ctx, live, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := m.Sweep(); n < burst-2*16 { // the Revoke above may have forgotten a few
		t.Errorf("Sweep forgot %d revocations, want the %d expired ones", n, burst)
	}
	if n := m.Sweep(); n != 0 {
		t.Errorf("a second Sweep forgot %d, want 0", n)
	}
	b := sessionadapter.Binding{Issuer: "i", SessionID: "live", LoginTime: now.Add(-time.Minute)}
	if got, err := m.Revoked(ctx, b); err != nil || !got {
		t.Errorf("the live revocation after Sweep: Revoked = %v, %v, want true", got, err)
	}
}
