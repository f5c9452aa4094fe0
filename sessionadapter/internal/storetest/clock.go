package storetest

import (
	"time"

	"github.com/bclogout/bclogout/internal/testclock"
)

// SyncClock is a clock safe for concurrent use, for stores whose
// background loops read it while the test moves it.
type SyncClock = testclock.Clock

// NewSyncClock returns a SyncClock at t.
func NewSyncClock(t time.Time) *SyncClock { return testclock.New(t) }
