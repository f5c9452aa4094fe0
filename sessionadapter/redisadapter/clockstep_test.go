package redisadapter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// TestFeedClockStepBackIsStale: staleness
// was judged on the wall clock, and the last sync only moved forward.
// After the wall clock stepped back (an NTP correction, a restored VM), the
// last sync stood in the "future", so Revoked kept answering from memory
// for as long as the step, even with the feed dead, instead of failing
// closed with ErrStale after the bound. Freshness is now time since start
// (monotonic with time.Now), and a clock seen going back makes the view
// stale until the next sync.
func TestFeedClockStepBackIsStale(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	direct := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { direct.Close() })
	px := newProxy(t, m.Addr())
	viaProxy := redis.NewClient(&redis.Options{Addr: px.ln.Addr().String(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { viaProxy.Close() })

	clock := storetest.NewSyncClock(time.Now())
	const bound = time.Second
	a := newRevocations(t, direct)
	b := newRevocations(t, viaProxy, redisadapter.WithClock(clock.Now), redisadapter.WithMaxStaleness(bound))

	clock.Advance(-time.Hour) // the wall clock steps back an hour
	px.setCut(true)           // and b's feed dies
	clock.Advance(bound + time.Millisecond)

	login := time.Now().Add(-time.Minute)
	s := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "cut", LoginTime: login}
	if err := a.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "cut"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := b.Revoked(ctx, s)
	if err == nil && !got {
		t.Errorf("feed dead for more than the bound, yet Revoked answers \"not revoked\" (want ErrStale)")
	} else if err != nil && !errors.Is(err, sessionadapter.ErrStale) {
		t.Fatal(err)
	}
}
