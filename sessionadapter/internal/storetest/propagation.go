package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Replica is a shared store's Revocations as one replica sees them: it
// answers from memory, and Changed fires when a revocation reaches it.
type Replica interface {
	sessionadapter.Revocations
	Changed() <-chan struct{}
}

// Propagation measures how long a revocation that one replica records
// takes to reach another's memory: from Revoke on from until other's
// Revoked answers true, each iteration a new sid. It reports the median
// and the 99th percentile as p50-ms and p99-ms; ns/op is the whole round.
func Propagation(b *testing.B, from sessionadapter.Revocations, other Replica) {
	b.Helper()
	const iss = "https://op.example"
	ctx := context.Background()
	login := time.Now().Add(-time.Hour)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		sid := fmt.Sprint("bench-", i)
		bd := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: sid, LocalID: "l", LoginTime: login}
		start := time.Now()
		if err := from.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: sid}, time.Hour); err != nil {
			b.Fatal(err)
		}
		for {
			changed := other.Changed()
			if got, err := other.Revoked(ctx, bd); err == nil && got {
				break
			}
			select {
			case <-changed:
			case <-time.After(10 * time.Millisecond): // a stale answer: look again
			}
		}
		lat = append(lat, time.Since(start))
	}
	ReportPercentiles(b, lat)
}

// ReportPercentiles reports the median and the 99th percentile of lat as
// p50-ms and p99-ms.
func ReportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
