package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Harness is one store under test and the session data it ends.
type Harness struct {
	Store sessionadapter.Store
	// Create makes the session data of localID exist.
	Create func(t testing.TB, localID string)
	// Alive reports whether the session data of localID exists.
	Alive func(t testing.TB, localID string) bool
}

// Factory builds a fresh, empty harness.
type Factory func(t *testing.T) Harness

const iss1, iss2 = "https://op.example", "https://other.example"

// Run checks the logout rules of the sessionadapter package, the same
// for every store (Back-Channel Logout 1.0 §2.7): a logout with a sid ends
// the sessions bound to that (iss, sid) and no other session of the user,
// even when it carries a sub, which must then match theirs; a logout with
// only a sub ends every session of that (iss, sub).
func Run(t *testing.T, f Factory) {
	t.Run("Rules", func(t *testing.T) { rules(t, f) })
	t.Run("LateLogout", func(t *testing.T) { lateLogout(t, f) })
	t.Run("IDTokenHint", func(t *testing.T) { idTokenHint(t, f) })
	t.Run("Property", func(t *testing.T) {
		for seed := uint64(1); seed <= 3; seed++ {
			Property(t, f(t), seed, 150)
		}
	})
}

func rules(t *testing.T, f Factory) {
	// Bindings every case starts from: two users at iss1, the same sub at
	// iss2 (a different user), a user with two sessions in one OP session.
	bindings := []sessionadapter.Binding{
		{Issuer: iss1, Subject: "alice", SessionID: "s1", LocalID: "a1"},
		{Issuer: iss1, Subject: "alice", SessionID: "s2", LocalID: "a2"},
		{Issuer: iss1, Subject: "alice", SessionID: "s2", LocalID: "a3"},
		{Issuer: iss1, Subject: "bob", SessionID: "s3", LocalID: "b1"},
		{Issuer: iss2, Subject: "alice", SessionID: "s1", LocalID: "x1"},
		{Issuer: iss1, Subject: "carol", LocalID: "c1"},
	}
	tests := []struct {
		name    string
		logout  sessionadapter.Logout
		want    []string // ended local IDs
		wantErr error
	}{
		{name: "sid", logout: sessionadapter.Logout{Issuer: iss1, SessionID: "s2"}, want: []string{"a2", "a3"}},
		{name: "sid and matching sub spares the user's other sessions", logout: sessionadapter.Logout{Issuer: iss1, Subject: "alice", SessionID: "s1"}, want: []string{"a1"}},
		{name: "sub mismatch ends nothing", logout: sessionadapter.Logout{Issuer: iss1, Subject: "bob", SessionID: "s1"}},
		{name: "sub only", logout: sessionadapter.Logout{Issuer: iss1, Subject: "alice"}, want: []string{"a1", "a2", "a3"}},
		{name: "sub without sid binding", logout: sessionadapter.Logout{Issuer: iss1, Subject: "carol"}, want: []string{"c1"}},
		{name: "issuer scopes sub", logout: sessionadapter.Logout{Issuer: iss2, Subject: "alice"}, want: []string{"x1"}},
		{name: "issuer scopes sid", logout: sessionadapter.Logout{Issuer: iss2, SessionID: "s2"}},
		{name: "unknown sid", logout: sessionadapter.Logout{Issuer: iss1, SessionID: "nope"}},
		{name: "no issuer", logout: sessionadapter.Logout{Subject: "alice"}, wantErr: sessionadapter.ErrInvalid},
		{name: "no sub nor sid", logout: sessionadapter.Logout{Issuer: iss1}, wantErr: sessionadapter.ErrInvalid},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := f(t)
			for _, b := range bindings {
				h.Create(t, b.LocalID)
				if err := h.Store.Bind(ctx, b); err != nil {
					t.Fatalf("Bind(%v): %v", b, err)
				}
			}
			n, err := h.Store.EndSessions(ctx, tt.logout)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EndSessions err = %v, want %v", err, tt.wantErr)
			}
			if n != len(tt.want) {
				t.Errorf("EndSessions ended %d, want %d", n, len(tt.want))
			}
			for _, b := range bindings {
				if got, want := h.Alive(t, b.LocalID), !slices.Contains(tt.want, b.LocalID); got != want {
					t.Errorf("session %s alive = %v, want %v", b.LocalID, got, want)
				}
			}
			// A retried logout finds nothing left to end.
			if tt.wantErr == nil {
				if n, err := h.Store.EndSessions(ctx, tt.logout); err != nil || n != 0 {
					t.Errorf("retried EndSessions = %d, %v, want 0, nil", n, err)
				}
			}
		})
	}

	t.Run("unbind", func(t *testing.T) {
		h := f(t)
		b := bindings[0]
		h.Create(t, b.LocalID)
		if err := h.Store.Bind(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.Unbind(ctx, b.LocalID); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.Unbind(ctx, "unknown"); err != nil {
			t.Fatalf("Unbind(unknown) = %v, want nil", err)
		}
		if n, err := h.Store.EndSessions(ctx, sessionadapter.Logout{Issuer: iss1, Subject: "alice"}); err != nil || n != 0 {
			t.Fatalf("EndSessions after Unbind = %d, %v, want 0, nil", n, err)
		}
		if !h.Alive(t, b.LocalID) {
			t.Fatal("Unbind deleted session data")
		}
	})

	t.Run("rebind moves the session", func(t *testing.T) {
		h := f(t)
		old := sessionadapter.Binding{Issuer: iss1, Subject: "alice", SessionID: "s1", LocalID: "l1"}
		moved := sessionadapter.Binding{Issuer: iss1, Subject: "bob", SessionID: "s9", LocalID: "l1"}
		h.Create(t, "l1")
		for _, b := range []sessionadapter.Binding{old, moved} {
			if err := h.Store.Bind(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		for _, l := range []sessionadapter.Logout{{Issuer: iss1, SessionID: "s1"}, {Issuer: iss1, Subject: "alice"}} {
			if n, err := h.Store.EndSessions(ctx, l); err != nil || n != 0 {
				t.Fatalf("EndSessions(%v) on the old binding = %d, %v, want 0, nil", l, n, err)
			}
		}
		if n, err := h.Store.EndSessions(ctx, sessionadapter.Logout{Issuer: iss1, SessionID: "s9"}); err != nil || n != 1 {
			t.Fatalf("EndSessions on the new binding = %d, %v, want 1, nil", n, err)
		}
	})

	t.Run("invalid binding", func(t *testing.T) {
		h := f(t)
		for _, b := range []sessionadapter.Binding{
			{Subject: "a", LocalID: "l"},
			{Issuer: iss1, Subject: "a"},
			{Issuer: iss1, LocalID: "l"},
		} {
			if err := h.Store.Bind(ctx, b); !errors.Is(err, sessionadapter.ErrInvalid) {
				t.Errorf("Bind(%+v) = %v, want ErrInvalid", b, err)
			}
		}
	})
}

// Property runs steps random logins, local logouts and back-channel
// logouts over several users, issuers and sids, checking each logout
// against a model: every session it names is gone, no other is touched.
func Property(t *testing.T, h Harness, seed uint64, steps int) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0xb0c1))
	issuers := []string{iss1, iss2}
	subs := []string{"u1", "u2", "u3", "u4"}
	model := make(map[string]sessionadapter.Binding) // live bindings by LocalID
	next := 0
	for step := 0; step < steps; step++ {
		iss := issuers[rng.IntN(len(issuers))]
		sub := subs[rng.IntN(len(subs))]
		// sids are per user most of the time, shared by accident rarely,
		// so that the sub-mismatch rule is exercised too.
		sid := fmt.Sprintf("sid-%s-%d", sub, rng.IntN(3))
		if rng.IntN(10) == 0 {
			sid = "sid-shared"
		}
		switch op := rng.IntN(10); {
		case op < 5: // login
			b := sessionadapter.Binding{Issuer: iss, Subject: sub, SessionID: sid, LocalID: fmt.Sprintf("p%d-%d", seed, next)}
			if rng.IntN(8) == 0 {
				b.SessionID = ""
			}
			next++
			h.Create(t, b.LocalID)
			if err := h.Store.Bind(ctx, b); err != nil {
				t.Fatalf("step %d: Bind: %v", step, err)
			}
			model[b.LocalID] = b
		case op < 6 && len(model) > 0: // local logout
			for id := range model {
				if err := h.Store.Unbind(ctx, id); err != nil {
					t.Fatalf("step %d: Unbind: %v", step, err)
				}
				delete(model, id)
				break
			}
		default: // back-channel logout
			l := sessionadapter.Logout{Issuer: iss}
			switch rng.IntN(3) {
			case 0:
				l.Subject = sub
			case 1:
				l.SessionID = sid
			default:
				l.Subject, l.SessionID = sub, sid
			}
			want := Expect(model, l)
			n, err := h.Store.EndSessions(ctx, l)
			if err != nil {
				t.Fatalf("step %d: EndSessions(%+v): %v", step, l, err)
			}
			if n != len(want) {
				t.Fatalf("step %d: EndSessions(%+v) ended %d, model says %d", step, l, n, len(want))
			}
			for id := range model {
				_, ended := want[id]
				if alive := h.Alive(t, id); alive == ended {
					t.Fatalf("step %d: EndSessions(%+v): session %s alive = %v, model says ended = %v", step, l, id, alive, ended)
				}
				if ended {
					delete(model, id)
				}
			}
		}
	}
}

// Expect is the oracle: it scans every binding, which the stores must not.
func Expect(model map[string]sessionadapter.Binding, l sessionadapter.Logout) map[string]struct{} {
	out := make(map[string]struct{})
	for id, b := range model {
		switch {
		case b.Issuer != l.Issuer:
		case l.SessionID != "":
			if b.SessionID == l.SessionID && (l.Subject == "" || b.Subject == "" || b.Subject == l.Subject) {
				out[id] = struct{}{}
			}
		case b.Subject == l.Subject:
			out[id] = struct{}{}
		}
	}
	return out
}

// Clock is a settable clock for stores under test.
type Clock struct{ T time.Time }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.T }

// lateLogout: a logout token that reaches the store after the user signed
// in again (a late delivery, a retry) ends the sessions whose login was
// not after its iat and spares the fresh ones. Without an iat, or
// without a login time, the times cannot be compared and the session is
// ended.
func lateLogout(t *testing.T, f Factory) {
	ctx := context.Background()
	logoutAt := time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond)
	tests := []struct {
		name   string
		logout sessionadapter.Logout
		want   []string
	}{
		{name: "sub", logout: sessionadapter.Logout{Issuer: iss1, Subject: "alice", IssuedAt: logoutAt}, want: []string{"old", "nolt"}},
		{name: "sid", logout: sessionadapter.Logout{Issuer: iss1, Subject: "alice", SessionID: "s-old", IssuedAt: logoutAt}, want: []string{"old"}},
		{name: "sid spares a fresh login in it", logout: sessionadapter.Logout{Issuer: iss1, SessionID: "s-new", IssuedAt: logoutAt}},
		{name: "sub without iat", logout: sessionadapter.Logout{Issuer: iss1, Subject: "alice"}, want: []string{"old", "nolt", "fresh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := f(t)
			exp := time.Now().Add(time.Hour)
			for _, b := range []sessionadapter.Binding{
				{Issuer: iss1, Subject: "alice", SessionID: "s-old", LocalID: "old", LoginTime: logoutAt.Add(-time.Hour), Expires: exp},
				{Issuer: iss1, Subject: "alice", SessionID: "s-nolt", LocalID: "nolt", Expires: exp},
				{Issuer: iss1, Subject: "alice", SessionID: "s-new", LocalID: "fresh", LoginTime: logoutAt.Add(time.Minute), Expires: exp},
			} {
				h.Create(t, b.LocalID)
				if err := h.Store.Bind(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := h.Store.EndSessions(ctx, tt.logout); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"old", "nolt", "fresh"} {
				if want := !slices.Contains(tt.want, id); h.Alive(t, id) != want {
					t.Errorf("session %s alive = %v, want %v", id, !want, want)
				}
			}
		})
	}
}

// idTokenHint checks that the store keeps a binding's raw ID token for
// sign-out's id_token_hint, gives it back by local ID, replaces it on a
// rebind and forgets it with the binding.
func idTokenHint(t *testing.T, f Factory) {
	h := f(t)
	hs, ok := h.Store.(interface {
		IDTokenHint(ctx context.Context, localID string) (string, error)
	})
	if !ok {
		t.Fatal("the store has no IDTokenHint method")
	}
	ctx := t.Context()
	hint := func(id string) string {
		t.Helper()
		s, err := hs.IDTokenHint(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b := sessionadapter.Binding{Issuer: iss1, Subject: "alice", SessionID: "s1", LocalID: "a1", IDToken: "h.p.s1"}
	h.Create(t, "a1")
	if err := h.Store.Bind(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := hint("a1"); got != "h.p.s1" {
		t.Fatalf("IDTokenHint = %q, want the bound ID token", got)
	}
	if got := hint("unknown"); got != "" {
		t.Fatalf("IDTokenHint of an unknown session = %q, want \"\"", got)
	}
	b.IDToken = "h.p.s2"
	if err := h.Store.Bind(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := hint("a1"); got != "h.p.s2" {
		t.Fatalf("IDTokenHint after a rebind = %q, want the new ID token", got)
	}
	if _, err := h.Store.EndSessions(ctx, sessionadapter.Logout{Issuer: iss1, SessionID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if got := hint("a1"); got != "" {
		t.Fatalf("IDTokenHint after the logout = %q, want \"\"", got)
	}
}
