// Package replaytest is the behaviour every replay.Cache must show, run
// against each implementation (Memory, miniredis, a real Redis and a Redis
// Cluster) so that they cannot drift apart: the jti replay check of OpenID
// Connect Back-Channel Logout 1.0 §2.6 step 7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation).
package replaytest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/testclock"
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
	// Forget makes the store lose the pair, as a failover or an eviction
	// would. Nil when the store cannot lose a pair (Memory).
	Forget func(t testing.TB, issuer, jti string)
	// Replica is a second Cache on the same store, as another RP replica
	// would have. Nil for a store of one process.
	Replica replay.Cache
}

// Factory builds a fresh, empty harness.
type Factory func(t *testing.T) Harness

const iss = "https://op.example"

// Run checks the replay.Cache contract.
func Run(t *testing.T, f Factory) {
	t.Run("Lifecycle", func(t *testing.T) { lifecycle(t, f) })
	t.Run("ExpiredUntil", func(t *testing.T) { expiredUntil(t, f(t)) })
	t.Run("PairsAreDistinct", func(t *testing.T) { pairsAreDistinct(t, f) })
	t.Run("TokensAreDistinct", func(t *testing.T) { tokensAreDistinct(t, f(t)) })
	t.Run("ConcurrentReserveOneWins", func(t *testing.T) { concurrentReserveOneWins(t, f(t)) })
	t.Run("SlowLogoutStaysReserved", func(t *testing.T) { slowLogoutStaysReserved(t, f(t)) })
	t.Run("UncommittedStaysUntilUntil", func(t *testing.T) { uncommittedStaysUntilUntil(t, f(t)) })
	t.Run("CommitAfterUntil", func(t *testing.T) { commitAfterUntil(t, f(t)) })
	t.Run("LateReleaseKeepsTheRetrysClaim", func(t *testing.T) { lateReleaseKeepsTheRetrysClaim(t, f(t)) })
	t.Run("ZeroTokenReleasesNothing", func(t *testing.T) { zeroTokenReleasesNothing(t, f(t)) })
	t.Run("LostReservation", func(t *testing.T) { lostReservation(t, f(t)) })
	t.Run("Replicas", func(t *testing.T) { replicas(t, f(t)) })
}

// lifecycle walks one pair through reservations by steps. A step acts
// through the reservation made by an earlier step (by its index), so
// that attempts are told apart as the contract says.
func lifecycle(t *testing.T, f Factory) {
	const jti = "jti-1"
	type step struct {
		op      string // reserve, commit, release
		of      int    // for commit and release: the step whose reservation
		wantErr error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "reserve twice is a replay", steps: []step{
			{op: "reserve"}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "committed is a replay", steps: []step{
			{op: "reserve"}, {op: "commit", of: 0}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "release lets the retry through", steps: []step{
			{op: "reserve"}, {op: "release", of: 0}, {op: "reserve"}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "release after commit is a no-op", steps: []step{
			{op: "reserve"}, {op: "commit", of: 0}, {op: "release", of: 0}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "commit twice keeps it committed", steps: []step{
			{op: "reserve"}, {op: "commit", of: 0}, {op: "commit", of: 0}, {op: "release", of: 0}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "release twice frees only once", steps: []step{
			{op: "reserve"}, {op: "release", of: 0}, {op: "reserve"}, {op: "release", of: 0}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "an earlier attempt's commit after a retry's release consumes", steps: []step{
			{op: "reserve"}, {op: "release", of: 0}, {op: "reserve"}, {op: "release", of: 2},
			{op: "commit", of: 0, wantErr: replay.ErrReservationLost}, {op: "reserve", wantErr: replay.ErrReplayed},
		}},
		{name: "an earlier attempt's commit over the retry's claim consumes", steps: []step{
			{op: "reserve"}, {op: "release", of: 0}, {op: "reserve"},
			{op: "commit", of: 0, wantErr: replay.ErrReservationLost},
			{op: "release", of: 2}, {op: "reserve", wantErr: replay.ErrReplayed},
			{op: "commit", of: 2, wantErr: replay.ErrReservationLost},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := f(t)
			ctx := context.Background()
			until := h.Now().Add(5 * time.Minute)
			res := make([]replay.Reservation, len(tt.steps))
			for i, s := range tt.steps {
				var err error
				switch s.op {
				case "reserve":
					res[i], err = h.Cache.Reserve(ctx, iss, jti, until)
				case "commit":
					err = h.Cache.Commit(ctx, res[s.of])
				case "release":
					err = h.Cache.Release(ctx, res[s.of])
				}
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d (%s): error = %v, want %v", i, s.op, err, s.wantErr)
				}
			}
		})
	}
}

func expiredUntil(t *testing.T, h Harness) {
	ctx := context.Background()
	now := h.Now()
	for _, until := range []time.Time{now, now.Add(-time.Second)} {
		if _, err := h.Cache.Reserve(ctx, iss, "jti", until); !errors.Is(err, replay.ErrExpired) {
			t.Fatalf("Reserve(until %s): error = %v, want %v", until, err, replay.ErrExpired)
		}
	}
	if _, err := h.Cache.Reserve(ctx, iss, "jti", now.Add(time.Minute)); err != nil {
		t.Fatalf("an expired until left the pair remembered: %v", err)
	}
}

func pairsAreDistinct(t *testing.T, f Factory) {
	tests := []struct {
		name       string
		iss1, jti1 string
		iss2, jti2 string
		wantErr    error
	}{
		{name: "same pair", iss1: "a", jti1: "b", iss2: "a", jti2: "b", wantErr: replay.ErrReplayed},
		{name: "same jti, other issuer", iss1: "https://op1", jti1: "x", iss2: "https://op2", jti2: "x"},
		{name: "boundary moved", iss1: "ab", jti1: "c", iss2: "a", jti2: "bc"},
		{name: "empty issuer", iss1: "", jti1: "ab", iss2: "a", jti2: "b"},
		{name: "empty jti", iss1: "ab", jti1: "", iss2: "a", jti2: "b"},
		{name: "swapped", iss1: "a", jti1: "b", iss2: "b", jti2: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := f(t)
			ctx := context.Background()
			until := h.Now().Add(time.Minute)
			if _, err := h.Cache.Reserve(ctx, tt.iss1, tt.jti1, until); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Cache.Reserve(ctx, tt.iss2, tt.jti2, until); !errors.Is(err, tt.wantErr) {
				t.Fatalf("second Reserve: error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// tokensAreDistinct checks that each Reserve of a pair is a claim of its
// own, and that the reservation names what was reserved.
func tokensAreDistinct(t *testing.T, h Harness) {
	ctx := context.Background()
	until := h.Now().Add(time.Minute)
	seen := make(map[[16]byte]bool)
	for i := range 20 {
		r, err := h.Cache.Reserve(ctx, iss, "jti", until)
		if err != nil {
			t.Fatal(err)
		}
		if r.Issuer != iss || r.JTI != "jti" || !r.Until.Equal(until) {
			t.Fatalf("Reserve returned %+v, want the issuer, jti and until it was given", r)
		}
		if seen[r.Token] {
			t.Fatalf("reservation %d reused token %x", i, r.Token)
		}
		seen[r.Token] = true
		if err := h.Cache.Release(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

func concurrentReserveOneWins(t *testing.T, h Harness) {
	until := h.Now().Add(time.Minute)
	const n = 50
	caches := []replay.Cache{h.Cache}
	if h.Replica != nil {
		caches = append(caches, h.Replica)
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = caches[i%len(caches)].Reserve(context.Background(), iss, "same", until)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, replay.ErrReplayed):
			t.Errorf("Reserve %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d calls won the reservation, want exactly 1", won)
	}
}

func needClock(t *testing.T, h Harness) {
	t.Helper()
	if h.Advance == nil {
		t.Skip("the store's clock cannot be moved")
	}
}

// slowLogoutStaysReserved: a logout that takes far longer than any
// reservation lease keeps its token refused, and its Commit keeps it so
// until until.
func slowLogoutStaysReserved(t *testing.T, h Harness) {
	needClock(t, h)
	ctx := context.Background()
	until := h.Now().Add(6 * time.Minute)
	r, err := h.Cache.Reserve(ctx, iss, "slow", until)
	if err != nil {
		t.Fatal(err)
	}
	h.Advance(5 * time.Minute) // the logout is still running
	if _, err := h.Cache.Reserve(ctx, iss, "slow", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("replay while the logout runs: error = %v, want %v", err, replay.ErrReplayed)
	}
	if err := h.Cache.Commit(ctx, r); err != nil {
		t.Fatalf("Commit after a slow logout: %v", err)
	}
	h.Advance(time.Minute - time.Millisecond)
	if _, err := h.Cache.Reserve(ctx, iss, "slow", until.Add(time.Hour)); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("replay just before until: error = %v, want %v", err, replay.ErrReplayed)
	}
	h.Advance(2 * time.Millisecond)
	if _, err := h.Cache.Reserve(ctx, iss, "slow", until.Add(time.Hour)); err != nil {
		t.Fatalf("after until: %v", err)
	}
}

// uncommittedStaysUntilUntil: a reservation neither committed nor
// released (its Commit failed, or its process died) guards the pair until
// until, since its logout may have run.
func uncommittedStaysUntilUntil(t *testing.T, h Harness) {
	needClock(t, h)
	ctx := context.Background()
	until := h.Now().Add(6 * time.Minute)
	if _, err := h.Cache.Reserve(ctx, iss, "abandoned", until); err != nil {
		t.Fatal(err)
	}
	h.Advance(6*time.Minute - time.Millisecond)
	if _, err := h.Cache.Reserve(ctx, iss, "abandoned", until.Add(time.Hour)); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("before until: error = %v, want %v", err, replay.ErrReplayed)
	}
	h.Advance(2 * time.Millisecond)
	if _, err := h.Cache.Reserve(ctx, iss, "abandoned", until.Add(time.Hour)); err != nil {
		t.Fatalf("after until: %v", err)
	}
}

// commitAfterUntil: a logout that outlived its token's window is reported
// lost, and revives nothing.
func commitAfterUntil(t *testing.T, h Harness) {
	needClock(t, h)
	ctx := context.Background()
	until := h.Now().Add(time.Minute)
	r, err := h.Cache.Reserve(ctx, iss, "late", until)
	if err != nil {
		t.Fatal(err)
	}
	h.Advance(2 * time.Minute)
	if err := h.Cache.Commit(ctx, r); !errors.Is(err, replay.ErrReservationLost) {
		t.Fatalf("Commit after until: error = %v, want %v", err, replay.ErrReservationLost)
	}
	if _, err := h.Cache.Reserve(ctx, iss, "late", h.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Commit after until revived the pair: %v", err)
	}
}

// lateReleaseKeepsTheRetrysClaim: once a pair's first claim is gone (its
// until passed), a later claim of the same pair belongs to its own
// attempt: the first attempt's Release cannot free it.
func lateReleaseKeepsTheRetrysClaim(t *testing.T, h Harness) {
	needClock(t, h)
	ctx := context.Background()
	first, err := h.Cache.Reserve(ctx, iss, "reused", h.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	h.Advance(2 * time.Minute)
	if _, err := h.Cache.Reserve(ctx, iss, "reused", h.Now().Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := h.Cache.Release(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Cache.Reserve(ctx, iss, "reused", h.Now().Add(5*time.Minute)); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("the first attempt's Release freed the second's claim: error = %v, want %v", err, replay.ErrReplayed)
	}
}

// zeroTokenReleasesNothing: a Reservation with a zero Token, which a
// failed Reserve may return, names no claim: releasing it leaves the
// pair's claim alone.
func zeroTokenReleasesNothing(t *testing.T, h Harness) {
	ctx := context.Background()
	until := h.Now().Add(time.Minute)
	if _, err := h.Cache.Reserve(ctx, iss, "zero", until); err != nil {
		t.Fatal(err)
	}
	if err := h.Cache.Release(ctx, replay.Reservation{Issuer: iss, JTI: "zero", Until: until}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Cache.Reserve(ctx, iss, "zero", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("a zero Token released the claim: error = %v, want %v", err, replay.ErrReplayed)
	}
}

// lostReservation: the store forgot the claim (failover, eviction) and
// the OP's retry claimed the pair. The first attempt's Release leaves the
// retry's claim alone; its Commit reports the loss and consumes the pair
// until until all the same.
func lostReservation(t *testing.T, h Harness) {
	if h.Forget == nil {
		t.Skip("the store cannot lose a pair")
	}
	ctx := context.Background()
	until := h.Now().Add(5 * time.Minute)

	t.Run("release", func(t *testing.T) {
		first, err := h.Cache.Reserve(ctx, iss, "forgotten-1", until)
		if err != nil {
			t.Fatal(err)
		}
		h.Forget(t, iss, "forgotten-1")
		if _, err := h.Cache.Reserve(ctx, iss, "forgotten-1", until); err != nil {
			t.Fatalf("the retry: %v", err)
		}
		if err := h.Cache.Release(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Cache.Reserve(ctx, iss, "forgotten-1", until); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("the first attempt's Release freed the retry's claim: error = %v, want %v", err, replay.ErrReplayed)
		}
	})
	t.Run("commit", func(t *testing.T) {
		first, err := h.Cache.Reserve(ctx, iss, "forgotten-2", until)
		if err != nil {
			t.Fatal(err)
		}
		h.Forget(t, iss, "forgotten-2")
		if err := h.Cache.Commit(ctx, first); !errors.Is(err, replay.ErrReservationLost) {
			t.Fatalf("Commit of a forgotten reservation: error = %v, want %v", err, replay.ErrReservationLost)
		}
		if _, err := h.Cache.Reserve(ctx, iss, "forgotten-2", until); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("a consumed token was accepted again: error = %v, want %v", err, replay.ErrReplayed)
		}
		if h.Advance != nil {
			h.Advance(5*time.Minute - time.Millisecond)
			if _, err := h.Cache.Reserve(ctx, iss, "forgotten-2", until.Add(time.Hour)); !errors.Is(err, replay.ErrReplayed) {
				t.Fatalf("just before until: error = %v, want %v", err, replay.ErrReplayed)
			}
		}
	})
}

// replicas: a second Cache on the same store can neither free nor consume
// the first one's claim, and sees its commits.
func replicas(t *testing.T, h Harness) {
	if h.Replica == nil {
		t.Skip("a store of one process")
	}
	ctx := context.Background()
	until := h.Now().Add(time.Minute)
	r, err := h.Cache.Reserve(ctx, iss, "shared", until)
	if err != nil {
		t.Fatal(err)
	}
	forged := replay.Reservation{Issuer: iss, JTI: "shared", Until: until, Token: [16]byte{0xf0, 0x49, 0xed}}
	if err := h.Replica.Release(ctx, forged); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Replica.Reserve(ctx, iss, "shared", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("after the other replica's Release: error = %v, want %v", err, replay.ErrReplayed)
	}
	// The first attempt's Release lets the OP's retry land on either.
	if err := h.Cache.Release(ctx, r); err != nil {
		t.Fatal(err)
	}
	r2, err := h.Replica.Reserve(ctx, iss, "shared", until)
	if err != nil {
		t.Fatalf("retry on the other replica: %v", err)
	}
	if err := h.Replica.Commit(ctx, r2); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Cache.Reserve(ctx, iss, "shared", until); !errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("replay on the first replica: error = %v, want %v", err, replay.ErrReplayed)
	}
}

// Clock is a settable time source shared by a test and its Cache.
type Clock = testclock.Clock

// NewClock returns a Clock at a fixed instant.
func NewClock() *Clock { return testclock.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) }
