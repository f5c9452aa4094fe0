package redisadapter_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// TestReview2RevokeBeforeEpoch (from the second outside review): a logout
// dated before 1970 was recorded in memory, but Redis's scripts could not
// parse its negative time, so revoking it again failed with a script
// error. It is refused up front now, as no OP dates a token so, in Redis
// and in memory alike.
func TestReview2RevokeBeforeEpoch(t *testing.T) {
	c := realClient(t)
	r := newRevocations(t, c)
	l := sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-zero", IssuedAt: time.Time{}.Add(-time.Minute)}
	for i := range 2 {
		if err := r.Revoke(t.Context(), l, time.Hour); !errors.Is(err, sessionadapter.ErrInvalidLogout) {
			t.Fatalf("revoke %d of a logout dated %v: %v, want ErrInvalidLogout", i+1, l.IssuedAt, err)
		}
	}
	mem, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Revoke(t.Context(), l, time.Hour); !errors.Is(err, sessionadapter.ErrInvalidLogout) {
		t.Fatalf("memory revoke: %v, want ErrInvalidLogout", err)
	}
}
