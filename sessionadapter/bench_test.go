package sessionadapter_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// benchStore returns a Memory store holding unrelated sessions of other
// users, spread over two issuers.
func benchStore(b *testing.B, unrelated int) sessionadapter.Store {
	b.Helper()
	ctx := context.Background()
	m, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(deleterFunc(func(context.Context, string) error { return nil })))
	if err != nil {
		b.Fatal(err)
	}
	for i := range unrelated {
		err := m.Bind(ctx, sessionadapter.Binding{
			Issuer: fmt.Sprint("https://op", i%2), Subject: fmt.Sprint("other-", i/3), SessionID: fmt.Sprint("osid-", i),
			LocalID: fmt.Sprint("o", i),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return m
}

// endBySub measures ending n sessions of one user by sub; binding them
// again between iterations is not timed.
func endBySub(b *testing.B, m sessionadapter.Store, n int) {
	ctx := context.Background()
	l := sessionadapter.Logout{Issuer: "https://op0", Subject: "target"}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range n {
			_ = m.Bind(ctx, sessionadapter.Binding{Issuer: l.Issuer, Subject: l.Subject, SessionID: fmt.Sprint("t", i%3), LocalID: fmt.Sprint("t", i)})
		}
		b.StartTimer()
		if got, err := m.EndSessions(ctx, l); err != nil || got != n {
			b.Fatalf("ended %d, %v, want %d", got, err, n)
		}
	}
}

func BenchmarkMemoryEndBySub(b *testing.B) {
	m := benchStore(b, 1000)
	for _, n := range []int{1, 10, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) { endBySub(b, m, n) })
	}
}

// BenchmarkMemoryEndBySubUnrelated shows the cost does not depend on the
// number of other sessions in the store: compare the two ns/op.
func BenchmarkMemoryEndBySubUnrelated(b *testing.B) {
	for _, unrelated := range []int{1000, 1_000_000} {
		m := benchStore(b, unrelated)
		b.Run(fmt.Sprintf("unrelated=%d/sessions=10", unrelated), func(b *testing.B) { endBySub(b, m, 10) })
	}
}

// BenchmarkMapDelete is the raw operation underneath: deleting 10 entries
// from a Go map, the floor for ending 10 sessions.
func BenchmarkMapDelete(b *testing.B) {
	m := make(map[string]struct{})
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprint("t", i)
	}
	for b.Loop() {
		for _, k := range keys {
			m[k] = struct{}{}
		}
		for _, k := range keys {
			delete(m, k)
		}
	}
}

// BenchmarkMemoryBind measures a login's Bind in a store at steady
// state: 64 sessions of one user, each rebound as the clock moves on, so
// the maps stay the same size and every Bind pushes one expiry and sweeps
// one. Compare with BenchmarkBaselineMapStore.
func BenchmarkMemoryBind(b *testing.B) {
	ctx := context.Background()
	clock := time.Unix(1_700_000_000, 0)
	m, err := sessionadapter.NewMemory(sessionadapter.WithClock(func() time.Time { return clock }), sessionadapter.WithSessionLifetime(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	bs := make([]sessionadapter.Binding, 64)
	for i := range bs {
		bs[i] = sessionadapter.Binding{Issuer: "https://op.example", Subject: "u", LocalID: fmt.Sprint("l", i)}
	}
	i := 0
	bind := func() {
		clock = clock.Add(time.Second)
		if err := m.Bind(ctx, bs[i&63]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	for range 1000 { // reach the steady state before timing
		bind()
	}
	b.ReportAllocs()
	for b.Loop() {
		bind()
	}
}

// BenchmarkBaselineMapStore is the raw operation underneath Bind:
// storing a binding in a Go map under its local ID.
func BenchmarkBaselineMapStore(b *testing.B) {
	m := make(map[string]sessionadapter.Binding, 64)
	bs := make([]sessionadapter.Binding, 64)
	for i := range bs {
		bs[i] = sessionadapter.Binding{Issuer: "https://op.example", Subject: "u", LocalID: fmt.Sprint("l", i)}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bd := bs[i&63]
		m[bd.LocalID] = bd
		i++
	}
}

// revocationSet returns memory Revocations holding n live sid
// revocations, and bindings to check against it, none of them revoked.
func revocationSet(b *testing.B, n int) (sessionadapter.Revocations, []sessionadapter.Binding) {
	b.Helper()
	ctx := context.Background()
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		l := sessionadapter.Logout{Issuer: "https://op.example.com", Subject: fmt.Sprint("user-", i), SessionID: fmt.Sprintf("6f1c2a9e-%08d-4b7d-9c3e-revoked", i)}
		if err := rev.Revoke(ctx, l, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	live := make([]sessionadapter.Binding, 1024)
	for i := range live {
		live[i] = sessionadapter.Binding{Issuer: "https://op.example.com", Subject: fmt.Sprint("user-", i),
			SessionID: fmt.Sprintf("6f1c2a9e-%08d-4b7d-9c3e-live0000", i), LocalID: "l", LoginTime: time.Now()}
	}
	return rev, live
}

// BenchmarkGuardCheck is the guard's check (Revoked) against 100,000 live
// sid revocations, from every core at once; goal: <= 200 ns/op, 0 allocs.
// Compare with BenchmarkBaselineMapLookup.
func BenchmarkGuardCheck(b *testing.B) {
	rev, live := revocationSet(b, 100_000)
	guardCheck(b, rev, live)
}

// BenchmarkGuardCheckWithSubRevocations is the same with 10,000 of the
// 100,000 revocations by sub (sub-only logouts): the check then also looks
// the session's sub up.
func BenchmarkGuardCheckWithSubRevocations(b *testing.B) {
	rev, live := revocationSet(b, 90_000)
	for i := range 10_000 {
		l := sessionadapter.Logout{Issuer: "https://op.example.com", Subject: fmt.Sprint("gone-", i)}
		if err := rev.Revoke(context.Background(), l, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	guardCheck(b, rev, live)
}

func guardCheck(b *testing.B, rev sessionadapter.Revocations, live []sessionadapter.Binding) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if got, err := rev.Revoked(ctx, live[i&1023]); got || err != nil {
				b.Fatal("a live session was revoked")
			}
			i++
		}
	})
}

// BenchmarkBaselineMapLookup is the raw operation underneath the guard's
// check: looking a session's sid and sub up in read-only Go maps of
// 100,000 strings, from every core at once.
func BenchmarkBaselineMapLookup(b *testing.B) {
	sids := make(map[string]int64, 100_000)
	subs := make(map[string]int64, 100_000)
	for i := range 100_000 {
		sids[fmt.Sprintf("6f1c2a9e-%08d-4b7d-9c3e-revoked", i)] = int64(i)
		subs[fmt.Sprint("user-x", i)] = int64(i)
	}
	_, live := revocationSet(b, 0)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			bd := &live[i&1023]
			if _, ok := sids[bd.SessionID]; ok {
				b.Fatal("hit")
			}
			if _, ok := subs[bd.Subject]; ok {
				b.Fatal("hit")
			}
			i++
		}
	})
}

// BenchmarkRevocationMemory reports the heap memory Revocations take per
// revocation with 1,000,000 sid revocations (UUID-sized sids), the bytes
// a replica spends on a busy OP's logouts.
func BenchmarkRevocationMemory(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		b.StopTimer()
		// Build the keys first so that only the set is measured.
		ls := make([]sessionadapter.Logout, n)
		for i := range ls {
			ls[i] = sessionadapter.Logout{Issuer: "https://op.example.com", Subject: fmt.Sprint("user-", i), SessionID: fmt.Sprintf("6f1c2a9e-%08d-4b7d-9c3e-revoked", i)}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		rev, _ := sessionadapter.NewMemoryRevocations()
		ctx := context.Background()
		for _, l := range ls {
			_ = rev.Revoke(ctx, l, time.Hour)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/revocation")
		runtime.KeepAlive(rev)
		runtime.KeepAlive(ls)
		b.StartTimer()
	}
}
