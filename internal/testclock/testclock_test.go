package testclock_test

import (
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/testclock"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := testclock.New(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now() = %v", c.Now())
	}
	c.Advance(time.Minute)
	if got := c.Now().Sub(t0); got != time.Minute {
		t.Errorf("after Advance: %v", got)
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Errorf("after Set: %v", c.Now())
	}
}
