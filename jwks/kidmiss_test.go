package jwks_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/jwks"
)

// loopRemote is a Remote on a frozen clock whose background loop the test
// drives: every timer the loop arms arrives on asked, and fires only when
// the test fires it.
type loopRemote struct {
	r     *jwks.Remote
	clk   *clock
	asked chan *jwks.FakeTimer
	base  int64 // OP fetches once the first one settled
}

func newLoopRemote(t *testing.T, o *op, opts ...jwks.Option) *loopRemote {
	t.Helper()
	lr := &loopRemote{clk: newClock(), asked: make(chan *jwks.FakeTimer, 4096)}
	opts = append([]jwks.Option{jwks.WithClock(lr.clk.Now), jwks.WithLogger(quiet), jwks.WithFakeTimers(lr.asked)}, opts...)
	r, err := jwks.NewRemote(o.srv.URL+"/jwks", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	lr.r, lr.base = r, o.fetches.Load()
	return lr
}

// tick lets d pass on the clock and fires the loop's timer, until fetched
// reports the fetch that timer starts. The loop re-arms whenever a fetch
// or a miss moves its schedule, so every timer it armed for at most d is
// fired: those it replaced are no longer read, and firing them is a
// no-op.
func (lr *loopRemote) tick(t *testing.T, d time.Duration, fetched func() bool) {
	t.Helper()
	lr.clk.Advance(d)
	deadline := time.Now().Add(10 * time.Second)
	for !fetched() {
		for drained := false; !drained; {
			select {
			case ft := <-lr.asked:
				if ft.D <= d {
					ft.Fire()
				}
			default:
				drained = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the loop started no fetch")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitFor polls cond, which the goroutines under test make true without
// the test's help (they only need to run).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A key rotated in right after a kid-miss fetch is found by the next
// allowed fetch: the miss waits for it instead of answering an unknown key.
func TestRemoteLimitedMissWaitsForNextFetch(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	k2 := publicOf(t, genKey(t, "RSA", "k2", "RS256"))
	o := newOP(t, setJSON(t, k1))
	lr := newLoopRemote(t, o)

	// An attacker's random kid spends the kid-miss fetch.
	if set := mustKeys(t, lr.r, "random"); !hasKid(set, "k1") {
		t.Fatal("current set not returned")
	}
	// The OP rotates; the genuine token's kid arrives within the interval.
	o.serve(http.StatusOK, setJSON(t, k1, k2), nil)
	got := make(chan error, 1)
	go func() {
		set, err := lr.r.Keys(context.Background(), "k2")
		if err == nil && !hasKid(set, "k2") {
			err = fmt.Errorf("k2 not found: kids %v", kids(set))
		}
		got <- err
	}()
	waitFor(t, "the miss to wait", func() bool { ok, n := lr.r.Pending(); return ok && n == 1 })
	if n := o.fetches.Load() - lr.base; n != 1 {
		t.Fatalf("%d fetches before the interval passed, want 1", n)
	}
	lr.tick(t, time.Second, func() bool { return o.fetches.Load()-lr.base == 2 })
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := o.fetches.Load() - lr.base; n != 2 {
		t.Fatalf("%d fetches, want 2: one per interval", n)
	}
}

// The must-show: 1,000 random-kid lookups run while the OP rotates
// its key; every lookup of the new kid succeeds within one interval of the
// rotation, and the OP sees at most one fetch per interval.
func TestRemoteFloodDuringRotation(t *testing.T) {
	const (
		interval = time.Second // the default
		flood    = 1000
		genuine  = 50
	)
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	k2 := publicOf(t, genKey(t, "RSA", "k2", "RS256"))
	o := newOP(t, setJSON(t, k1))
	lr := newLoopRemote(t, o)

	var (
		wg        sync.WaitGroup
		finished  atomic.Int64
		mu        sync.Mutex
		failures  []string
		rotatedAt time.Time
		lateness  time.Duration // longest wait of a genuine lookup after the rotation
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	lookup := func(kid string, genuine bool) {
		defer finished.Add(1)
		set, err := lr.r.Keys(context.Background(), kid)
		switch {
		case err != nil:
			fail("Keys(%s): %v", kid, err)
		case genuine && !hasKid(set, "k2"):
			fail("genuine Keys(%s): kids %v", kid, kids(set))
		case !genuine && !hasKid(set, "k1"):
			fail("Keys(%s): current set not returned", kid)
		case genuine:
			mu.Lock()
			lateness = max(lateness, lr.clk.Now().Sub(rotatedAt))
			mu.Unlock()
		}
	}
	started := 0
	start := func(n int, kid func(i int) string, genuine bool) {
		for i := range n {
			started++
			wg.Go(func() { lookup(kid(i), genuine) })
		}
	}
	// settle waits until every lookup started is done or waiting, and no
	// fetch is in flight. A fetch a miss started counts at the OP only
	// once its request arrives: without the second condition it could
	// arrive after the interval ended and be charged to the next one
	// (the flake "interval 1: the OP saw 2 fetches").
	settle := func() {
		waitFor(t, "the lookups to settle", func() bool {
			return finished.Load()+int64(lr.r.MissWaiters()) == int64(started) && !lr.r.InFlight()
		})
	}
	// fetchesAt[i] counts the OP's fetches by the end of interval i.
	var fetchesAt []int64
	fetches := func() int64 { return o.fetches.Load() - lr.base }
	// tick ends an interval: the clock moves on by one, and the loop
	// starts the fetch it armed for the waiting misses.
	tick := func() {
		fetchesAt = append(fetchesAt, fetches())
		before := fetches()
		lr.tick(t, interval, func() bool { return fetches() > before })
		// The fetch ends, and with it the waits it answers.
		settle()
	}
	random := func(i int) string { return fmt.Sprintf("random-%d", i) }

	// The first third of the flood spends the allowed fetch and waits.
	start(flood/3, random, false)
	settle()
	tick()
	// The OP rotates in k2 while the flood goes on; genuine tokens come
	// mixed into it.
	mu.Lock()
	o.serve(http.StatusOK, setJSON(t, k1, k2), nil)
	rotatedAt = lr.clk.Now()
	mu.Unlock()
	start(flood/3, func(i int) string { return random(flood/3 + i) }, false)
	start(genuine, func(int) string { return "k2" }, true)
	start(flood-2*(flood/3), func(i int) string { return random(2*(flood/3) + i) }, false)
	settle()
	tick()
	wg.Wait()
	fetchesAt = append(fetchesAt, fetches())

	for _, f := range failures {
		t.Error(f)
	}
	if lateness > interval {
		t.Errorf("a genuine lookup waited %v after the rotation, want at most one interval (%v)", lateness, interval)
	}
	prev := int64(0)
	for i, n := range fetchesAt {
		if n-prev > 1 {
			t.Errorf("interval %d: the OP saw %d fetches, want at most 1", i, n-prev)
		}
		prev = n
	}
	t.Logf("%d lookups, OP fetches by interval: %v", started, fetchesAt)
}

// A flood of unknown kids, however many wait, cannot hide a key the OP
// rotated in meanwhile: a genuine token signed with it waits with the
// flood for the next allowed fetch and finds the key there. Answered at
// once with the old set, rp would report an unknown key (ErrSignature,
// 400 invalid_request, which no retry queue picks up since the token
// never verified), and the OP's genuine logout would be lost: that is
// what a cap of 4,096 waiters did.
func TestRemoteFloodWaitersCannotHideRotatedKey(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
	k2 := publicOf(t, genKey(t, "RSA", "k2", ""))
	o := newOP(t, setJSON(t, k1))
	lr := newLoopRemote(t, o, jwks.WithKidMissWait(time.Hour))
	mustKeys(t, lr.r, "spend-the-fetch")

	var wg sync.WaitGroup
	for i := range 2 { // the flood
		wg.Go(func() { _, _ = lr.r.Keys(context.Background(), fmt.Sprint("flood-", i)) })
	}
	waitFor(t, "the flood's waiters", func() bool { return lr.r.MissWaiters() == 2 })
	o.serve(http.StatusOK, setJSON(t, k1, k2), nil) // the OP rotates k2 in

	got := make(chan *jwks.KeySet, 1)
	go func() {
		set, _ := lr.r.Keys(context.Background(), "k2") // the OP's genuine token
		got <- set
	}()
	// Either it answered already, or it waits with the flood.
	waitFor(t, "the genuine lookup", func() bool { return len(got) == 1 || lr.r.MissWaiters() == 3 })
	lr.tick(t, time.Second, func() bool { return o.fetches.Load()-lr.base == 2 })
	wg.Wait()
	if set := <-got; !hasKid(set, "k2") {
		t.Fatal("a kid the OP rotated in was not found: a flood of unknown kids answered it with the old set")
	}
}

// Close ends every wait, and a miss answered by the fetch in flight
// leaves no pending fetch behind.
func TestRemoteMissWaitEnds(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		o := newOP(t, setJSON(t, publicOf(t, genKey(t, "RSA", "k1", ""))))
		lr := newLoopRemote(t, o)
		mustKeys(t, lr.r, "spend-the-fetch")
		got := make(chan error, 1)
		go func() {
			_, err := lr.r.Keys(context.Background(), "limited")
			got <- err
		}()
		waitFor(t, "the waiter", func() bool { return lr.r.MissWaiters() == 1 })
		_ = lr.r.Close()
		if err := <-got; err != nil {
			t.Fatalf("Keys after Close: %v", err)
		}
	})
	t.Run("answered by the fetch in flight", func(t *testing.T) {
		k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
		k2 := publicOf(t, genKey(t, "RSA", "k2", ""))
		o := newOP(t, setJSON(t, k1))
		lr := newLoopRemote(t, o)
		o.serve(http.StatusOK, setJSON(t, k2), nil)
		gate := o.hold()
		var wg sync.WaitGroup
		for range 2 { // the first starts the fetch, the second joins it
			wg.Go(func() { mustKeys(t, lr.r, "k2") })
		}
		waitFor(t, "both waiters", func() bool { return lr.r.MissWaiters() == 2 })
		o.release(gate)
		wg.Wait()
		if ok, _ := lr.r.Pending(); ok {
			t.Fatal("a pending fetch was left with nobody waiting")
		}
		if n := o.fetches.Load() - lr.base; n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
	})
}

// An OP times a delivery out after 5 to 10 s and rarely retries, so an
// unknown kid must be answered within 2 s, and a flood of them cost the OP
// about one fetch a second: the next kid-miss fetch is at most 1 s away,
// and a miss waits for it (sharing it with every other miss) at most
// 1.5 s. The background schedule's jitter leaves both bounds as they are:
// the next kid-miss fetch comes no sooner than the interval, nor later.
func TestRemoteMissAnsweredWithinBound(t *testing.T) {
	for _, j := range []struct {
		name   string
		jitter func(n int64) int64
	}{
		{name: "no jitter", jitter: func(n int64) int64 { return n - 1 }},
		{name: "most jitter", jitter: func(int64) int64 { return 0 }},
	} {
		t.Run(j.name, func(t *testing.T) {
			o := newOP(t, setJSON(t, publicOf(t, genKey(t, "RSA", "k1", ""))))
			lr := newLoopRemote(t, o, jwks.WithJitter(j.jitter))
			mustKeys(t, lr.r, "spend-the-fetch")
			// That miss armed a bound of its own: only the next one is looked at.
			for drained := false; !drained; {
				select {
				case <-lr.asked:
				default:
					drained = true
				}
			}

			got := make(chan error, 1)
			go func() {
				set, err := lr.r.Keys(context.Background(), "unknown")
				if err == nil && !hasKid(set, "k1") {
					err = fmt.Errorf("current set not returned: kids %v", kids(set))
				}
				got <- err
			}()
			// The loop re-arms for the pending kid-miss fetch once the miss
			// waits; a timer it armed before for its background schedule may
			// come first.
			var loop, miss *jwks.FakeTimer
			deadline := time.Now().Add(5 * time.Second)
			for miss == nil || loop == nil {
				select {
				case ft := <-lr.asked:
					switch {
					case ft.Miss:
						miss = ft
					case ft.D <= time.Second:
						loop = ft
					}
				case <-time.After(time.Until(deadline)):
					t.Fatalf("want a bounded wait and the next kid-miss fetch within 1s (miss %v, loop %v)", miss, loop)
				}
			}
			if loop.D != time.Second {
				t.Errorf("the next kid-miss fetch is armed %v ahead, want the interval, 1s", loop.D)
			}
			if miss.D > 1500*time.Millisecond {
				t.Errorf("a kid miss waits up to %v, want at most 1.5s", miss.D)
			}
			// The wait ends at its bound, whether or not the fetch came.
			miss.Fire()
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			if n := o.fetches.Load() - lr.base; n != 1 {
				t.Fatalf("%d fetches, want 1", n)
			}
			if ok, _ := lr.r.Pending(); ok {
				t.Fatal("a pending fetch was left with nobody waiting")
			}
		})
	}
}
