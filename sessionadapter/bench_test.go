package sessionadapter_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/bclogout/bclogout/sessionadapter"
)

// benchStore returns a Memory store holding unrelated sessions of other
// users, spread over two issuers.
func benchStore(b *testing.B, unrelated int) *sessionadapter.Memory {
	b.Helper()
	ctx := context.Background()
	m, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(sessionadapter.DeleterFunc(func(context.Context, string) error { return nil })))
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
func endBySub(b *testing.B, m *sessionadapter.Memory, n int) {
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
