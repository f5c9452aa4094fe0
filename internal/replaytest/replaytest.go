// Package replaytest is the behaviour every replay.Cache must show, run
// against each implementation (Memory, miniredis, a real Redis, a Redis
// Cluster and PostgreSQL) so that they cannot drift apart: the jti replay check of OpenID
// Connect Back-Channel Logout 1.0 §2.6 step 7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation).
package replaytest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/replay"
)

// Harness is one Cache under test and what the suite may do to its store.
type Harness struct {
	Cache replay.Cache
	// Now is the Cache's clock.
	Now func() time.Time
	// Advance moves the Cache's clock and its store's by d. Nil when the
	// store's clock cannot be moved (a real Redis): the checks that need
	// time to pass are skipped.
	Advance func(d time.Duration)
	// Replica is a second Cache on the same store, as another RP replica
	// would have. Nil for a store of one process.
	Replica replay.Cache
}

// Factory builds a fresh, empty harness.
type Factory func(t *testing.T) Harness

const iss = "https://op.example"

// Run checks the replay.Cache contract.
func Run(t *testing.T, f Factory) {
	t.Run("RecordThenSeen", func(t *testing.T) { recordThenSeen(t, f(t)) })
	t.Run("ExactWindow", func(t *testing.T) { exactWindow(t, f(t)) })
	t.Run("PassedUntilRecordsNothing", func(t *testing.T) { passedUntil(t, f(t)) })
	t.Run("RecordTwiceIsRecordOnce", func(t *testing.T) { recordTwice(t, f(t)) })
	t.Run("PairsAreDistinct", func(t *testing.T) { pairsAreDistinct(t, f(t)) })
	t.Run("Concurrent", func(t *testing.T) { concurrent(t, f(t)) })
	t.Run("Replicas", func(t *testing.T) { replicas(t, f(t)) })
}

func seen(t *testing.T, c replay.Cache, issuer, jti string) bool {
	t.Helper()
	ok, err := c.Seen(context.Background(), issuer, jti)
	if err != nil {
		t.Fatalf("Seen(%q, %q): %v", issuer, jti, err)
	}
	return ok
}

func record(t *testing.T, c replay.Cache, issuer, jti string, until time.Time) {
	t.Helper()
	if err := c.Record(context.Background(), issuer, jti, until); err != nil {
		t.Fatalf("Record(%q, %q): %v", issuer, jti, err)
	}
}

func recordThenSeen(t *testing.T, h Harness) {
	if seen(t, h.Cache, iss, "a") {
		t.Fatal("a pair never recorded is seen")
	}
	record(t, h.Cache, iss, "a", h.Now().Add(time.Minute))
	if !seen(t, h.Cache, iss, "a") {
		t.Fatal("a recorded pair is not seen")
	}
}

// exactWindow: a pair is seen until its until, and not after.
func exactWindow(t *testing.T, h Harness) {
	if h.Advance == nil {
		t.Skip("the store's clock cannot be moved")
	}
	record(t, h.Cache, iss, "a", h.Now().Add(10*time.Second))
	h.Advance(9 * time.Second)
	if !seen(t, h.Cache, iss, "a") {
		t.Fatal("forgotten before its until")
	}
	h.Advance(2 * time.Second)
	if seen(t, h.Cache, iss, "a") {
		t.Fatal("still seen after its until")
	}
}

func passedUntil(t *testing.T, h Harness) {
	record(t, h.Cache, iss, "a", h.Now().Add(-time.Second))
	if seen(t, h.Cache, iss, "a") {
		t.Fatal("a pair recorded with a passed until is seen")
	}
}

// recordTwice: every delivery of a token records the same until, and a
// second Record (a resent write, another delivery) changes nothing.
func recordTwice(t *testing.T, h Harness) {
	until := h.Now().Add(time.Minute)
	record(t, h.Cache, iss, "a", until)
	record(t, h.Cache, iss, "a", until)
	if !seen(t, h.Cache, iss, "a") {
		t.Fatal("a pair recorded twice is not seen")
	}
	if h.Advance != nil {
		h.Advance(61 * time.Second)
		if seen(t, h.Cache, iss, "a") {
			t.Fatal("recording twice stretched the pair's window")
		}
	}
}

func pairsAreDistinct(t *testing.T, h Harness) {
	until := h.Now().Add(time.Minute)
	tests := []struct {
		name     string
		recorded [2]string
		others   [][2]string
	}{
		{name: "split elsewhere", recorded: [2]string{"ab", "c"}, others: [][2]string{{"a", "bc"}, {"ab", "C"}, {"https://other.example", "c"}}},
		// issuer ‖ len(issuer) ‖ jti, the length as 8 little-endian
		// bytes, is "a" 01 0…0 09 0…0 "x" for both pairs: a length after
		// the issuer can be forged inside it. Lengths go first.
		{name: "length forged inside the issuer", recorded: [2]string{"a", "\x09\x00\x00\x00\x00\x00\x00\x00x"}, others: [][2]string{{"a\x01\x00\x00\x00\x00\x00\x00\x00", "x"}}},
	}
	for _, tt := range tests {
		record(t, h.Cache, tt.recorded[0], tt.recorded[1], until)
		for _, p := range tt.others {
			if seen(t, h.Cache, p[0], p[1]) {
				t.Errorf("%s: (%q, %q) seen after recording (%q, %q)", tt.name, p[0], p[1], tt.recorded[0], tt.recorded[1])
			}
		}
	}
}

func concurrent(t *testing.T, h Harness) {
	until := h.Now().Add(time.Minute)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jti := string(rune('a' + i))
			_ = h.Cache.Record(context.Background(), iss, jti, until)
			_, _ = h.Cache.Seen(context.Background(), iss, jti)
		}()
	}
	wg.Wait()
	for i := range 16 {
		if !seen(t, h.Cache, iss, string(rune('a'+i))) {
			t.Errorf("pair %d lost", i)
		}
	}
}

func replicas(t *testing.T, h Harness) {
	if h.Replica == nil {
		t.Skip("a store of one process")
	}
	record(t, h.Cache, iss, "a", h.Now().Add(time.Minute))
	if !seen(t, h.Replica, iss, "a") {
		t.Fatal("the other replica does not see the pair")
	}
}
