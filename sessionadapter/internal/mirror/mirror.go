// Package mirror is the copy of the revocations that each replica of
// redisadapter and pgadapter keeps in memory, fed by its own Revoke and
// by its feed from the shared database, so that the guard's check
// (Back-Channel Logout 1.0 §2.7) never leaves the process. The copy is a
// sessionadapter.NewMemoryRevocations, used through its public contract;
// what this package adds is a Changed channel of the replica's own, since
// a replica also wakes its watchers for what the copy cannot know of: a
// loss floor raised after the database lost revocations.
package mirror

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Mirror is a replica's copy of the shared revocations. Safe for
// concurrent use.
type Mirror struct {
	rev     sessionadapter.Revocations
	watch   sessionadapter.Watchable // rev's
	sweeper interface{ Sweep() int } // rev's
	changed atomic.Pointer[chan struct{}]
}

// New returns an empty Mirror on the clock now, which also dates its
// revocations' expiry.
func New(now func() time.Time) (*Mirror, error) {
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(now))
	if err != nil {
		return nil, err
	}
	w, ok := rev.(sessionadapter.Watchable)
	if !ok {
		return nil, errors.New("sessionadapter: memory revocations are not Watchable")
	}
	sw, ok := rev.(interface{ Sweep() int })
	if !ok {
		return nil, errors.New("sessionadapter: memory revocations cannot be swept")
	}
	m := &Mirror{rev: rev, watch: w, sweeper: sw}
	ch := make(chan struct{})
	m.changed.Store(&ch)
	return m, nil
}

// Revoke records l in the copy (see sessionadapter.Revocations.Revoke)
// and wakes the watchers of Changed when the copy's own channel fired
// during the call: when this revocation, or one recorded at the same
// time, can end a session that no kept revocation ended. Any change
// made during the call closes the channel taken before it, or a later
// one after it, so none is missed.
func (m *Mirror) Revoke(ctx context.Context, l sessionadapter.Logout, keepFor time.Duration) error {
	before := m.watch.Changed()
	err := m.rev.Revoke(ctx, l, keepFor)
	select {
	case <-before:
		m.Notify()
	default:
	}
	return err
}

// Revoked reports whether a revocation in the copy ends b (see
// sessionadapter.Revocations.Revoked), without allocating.
func (m *Mirror) Revoked(ctx context.Context, b sessionadapter.Binding) (bool, error) {
	return m.rev.Revoked(ctx, b)
}

// Sweep forgets every expired revocation of the copy and reports how
// many: the replica's feed calls it every 30 s, so that the memory of a
// burst of logouts is given back when no more come to sweep it.
func (m *Mirror) Sweep() int { return m.sweeper.Sweep() }

// Changed returns a channel closed at the next Notify, which Revoke calls
// for a revocation that can end a session.
func (m *Mirror) Changed() <-chan struct{} { return *m.changed.Load() }

// Notify wakes the watchers of Changed: Revoke does, and a replica that
// raises its loss floor.
func (m *Mirror) Notify() {
	ch := make(chan struct{})
	close(*m.changed.Swap(&ch))
}
