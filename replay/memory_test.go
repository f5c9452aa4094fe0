package replay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/replay/internal/replaytest"
)

func TestMemoryContract(t *testing.T) {
	replaytest.Run(t, func(t *testing.T) replaytest.Harness {
		clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		m := replay.NewMemory(100)
		replay.SetClock(m, clock.Now)
		return replaytest.Harness{Cache: m, Now: clock.Now, Advance: clock.Advance}
	})
}

// A full Memory forgets the pair expiring soonest, never more than its
// capacity, and sweeps expired pairs before it forgets a live one.
func TestMemoryBoundedEvictsSoonest(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := replay.NewMemory(3)
	replay.SetClock(m, clock.Now)
	now := clock.Now()
	record := func(jti string, until time.Time) {
		t.Helper()
		if err := m.Record(ctx, "iss", jti, until); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(jti string) bool {
		ok, _ := m.Seen(ctx, "iss", jti)
		return ok
	}
	record("late", now.Add(3*time.Minute))
	record("soon", now.Add(time.Minute))
	record("mid", now.Add(2*time.Minute))
	record("new", now.Add(4*time.Minute))
	if replay.Len(m) != 3 {
		t.Fatalf("Len %d, want 3", replay.Len(m))
	}
	for jti, want := range map[string]bool{"soon": false, "mid": true, "late": true, "new": true} {
		if seen(jti) != want {
			t.Errorf("seen(%s) = %v, want %v", jti, !want, want)
		}
	}
	clock.Advance(150 * time.Second) // mid expired
	record("after", now.Add(5*time.Minute))
	for jti, want := range map[string]bool{"mid": false, "late": true, "new": true, "after": true} {
		if seen(jti) != want {
			t.Errorf("after the sweep: seen(%s) = %v, want %v", jti, !want, want)
		}
	}
}

func TestMemoryDefaultCapacity(t *testing.T) {
	m := replay.NewMemory(0)
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	for i := range replay.DefaultCapacity + 10 {
		_ = m.Record(ctx, "iss", fmt.Sprint(i), until)
	}
	if replay.Len(m) != replay.DefaultCapacity {
		t.Errorf("Len %d, want %d", replay.Len(m), replay.DefaultCapacity)
	}
}
