package sessionadapter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
)

// dataStore is session data kept in memory, deleted through a Deleter.
type dataStore struct {
	mu   sync.Mutex
	data map[string]bool
	fail error // DeleteSession returns it when set
}

func newDataStore() *dataStore { return &dataStore{data: make(map[string]bool)} }

func (d *dataStore) DeleteSession(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	delete(d.data, id)
	return nil
}

func (d *dataStore) create(_ testing.TB, id string) { d.mu.Lock(); d.data[id] = true; d.mu.Unlock() }
func (d *dataStore) alive(_ testing.TB, id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.data[id]
}

func memoryFactory(t *testing.T) storetest.Harness {
	d := newDataStore()
	m, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(d))
	if err != nil {
		t.Fatal(err)
	}
	return storetest.Harness{Store: m, Create: d.create, Alive: d.alive}
}

func TestMemory(t *testing.T) { storetest.Run(t, memoryFactory) }

func TestNewMemoryInvalid(t *testing.T) {
	tests := []struct {
		name    string
		opts    []sessionadapter.Option
		wantErr error
	}{
		{name: "defaults"},
		{name: "nil logger", opts: []sessionadapter.Option{sessionadapter.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil clock", opts: []sessionadapter.Option{sessionadapter.WithClock(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero lifetime", opts: []sessionadapter.Option{sessionadapter.WithSessionLifetime(0)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero option", opts: []sessionadapter.Option{{}}, wantErr: errs.ErrInvalidConfig},
		{name: "nil deleter", opts: []sessionadapter.Option{sessionadapter.WithDeleter(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "option of another constructor", opts: []sessionadapter.Option{sessionadapter.WithSIDClockSkew(0)}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sessionadapter.NewMemory(tt.opts...); !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewMemory err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMemoryDeleterFailureKeepsBindingForRetry(t *testing.T) {
	ctx := context.Background()
	d := newDataStore()
	m, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(d))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"l1", "other"} {
		d.create(t, id)
	}
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s", LocalID: "l1"}))
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "v", SessionID: "t", LocalID: "other"}))

	d.fail = errors.New("disk on fire")
	l := sessionadapter.Logout{Issuer: "i", SessionID: "s"}
	if n, err := m.EndSessions(ctx, l); !errors.Is(err, d.fail) || n != 0 {
		t.Fatalf("EndSessions with failing store = %d, %v, want 0 and the Deleter's error", n, err)
	}
	d.fail = nil
	if !d.alive(t, "other") {
		t.Fatal("a failing logout touched an unrelated session")
	}
	if n, err := m.EndSessions(ctx, l); err != nil || n != 1 {
		t.Fatalf("retry after recovery = %d, %v, want 1, nil", n, err)
	}
	if d.alive(t, "l1") || !d.alive(t, "other") {
		t.Fatal("retry ended the wrong sessions")
	}
}

func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	clock := &storetest.Clock{T: time.Unix(1_700_000_000, 0)}
	m, err := sessionadapter.NewMemory(sessionadapter.WithClock(clock.Now), sessionadapter.WithSessionLifetime(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s", LocalID: "default"}))
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "u", LocalID: "long", Expires: clock.T.Add(3 * time.Hour)}))
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "u", LocalID: "past", Expires: clock.T.Add(-time.Second)}))

	clock.T = clock.T.Add(2 * time.Hour)
	if n, err := m.EndSessions(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u"}); err != nil || n != 1 {
		t.Fatalf("EndSessions after the default lifetime = %d, %v, want 1 (only the long session), nil", n, err)
	}
}

// A binding that expires later in the current millisecond is still live:
// the sweep, which orders expiries by millisecond, must not forget it.
func TestMemorySweepKeepsBindingLiveWithinMillisecond(t *testing.T) {
	ctx := context.Background()
	clock := &storetest.Clock{T: time.Unix(1_700_000_000, 100_000)}
	m, err := sessionadapter.NewMemory(sessionadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "u", LocalID: "l", Expires: clock.T.Add(500 * time.Microsecond)}))
	clock.T = clock.T.Add(400 * time.Microsecond)
	must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: "v", LocalID: "sweeps"}))
	if n, err := m.EndSessions(ctx, sessionadapter.Logout{Issuer: "i", Subject: "u"}); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v, want 1 (the binding is live for 100µs more), nil", n, err)
	}
}

// TestMemoryExpiryIsBounded binds many short sessions and checks that
// later calls forget them a bounded number at a time while the store does
// not grow without limit.
func TestMemoryExpiryIsBounded(t *testing.T) {
	ctx := context.Background()
	clock := &storetest.Clock{T: time.Unix(1_700_000_000, 0)}
	m, err := sessionadapter.NewMemory(sessionadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10_000 {
		clock.T = clock.T.Add(time.Second)
		must(t, m.Bind(ctx, sessionadapter.Binding{Issuer: "i", Subject: fmt.Sprint("u", i), LocalID: fmt.Sprint(i), Expires: clock.T.Add(time.Minute)}))
	}
	if got := sessionadapter.BindingCount(m); got > 100 {
		t.Fatalf("store holds %d bindings, want at most the ~60 live ones", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
