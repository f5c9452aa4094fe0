package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bclogout/bclogout/jwks"
)

// The tests of this file run in synctest bubbles: the kid-miss schedule
// runs on the bubble's clock, which moves only when every goroutine waits,
// and synctest.Wait returns once the lookups under test all wait or ended.

// Refresh is the kid miss of a token without kid: an OP that rotates its
// one kid-less key is found by a fetch that started after the call, and
// Refresh shares the kid-miss limit, so a flood of them (forged kid-less
// tokens) costs the OP one fetch an interval.
func TestRemoteRefreshFindsARotatedKidlessKey(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "", "RS256"))
	k2 := publicOf(t, genKey(t, "EC", "", "ES256"))
	isEC := func(set *jwks.KeySet) bool {
		for k := range set.All() {
			_, ok := k.Public().(*ecdsa.PublicKey)
			return ok
		}
		return false
	}
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o)
		o.serve(http.StatusOK, setJSON(t, k2), nil)
		if isEC(mustKeys(t, r, "")) {
			t.Fatal("Keys fetched for a token without kid")
		}
		set, err := r.Refresh(context.Background())
		if err != nil || !isEC(set) {
			t.Fatalf("Refresh() = %v, %v, want the rotated key", set, err)
		}
		start := time.Now()
		for range 5 {
			if _, err := r.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		// Each waited for the next allowed fetch, which it started.
		if n, d := o.fetches.Load()-base, time.Since(start); n != 6 || d != 5*jwks.DefaultKidMissInterval {
			t.Errorf("%d fetches for 6 refreshes over %v, want 6 over 5 intervals", n, d)
		}
	})
}

// A Refresh that finds a fetch in flight, which may have started before
// the OP rotated its key, waits for the next fetch too, as a kid miss
// would: it answers with the rotated key.
func TestRemoteRefreshWaitsPastAFetchInFlight(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	k2 := publicOf(t, genKey(t, "RSA", "k2", "RS256"))
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, _ := newRemote(t, o)
		gate := o.hold()
		go func() { _, _ = r.Keys(context.Background(), "random") }() // its fetch answers k1, held
		synctest.Wait()
		o.serve(http.StatusOK, setJSON(t, k2), nil) // the OP rotates meanwhile
		got := make(chan *jwks.KeySet, 1)
		go func() {
			set, err := r.Refresh(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- set
		}()
		synctest.Wait()
		o.release(gate)
		if set := <-got; !hasKid(set, "k2") {
			t.Errorf("Refresh() = kids %v, want k2: it answered with the fetch that predates the rotation", kids(set))
		}
	})
}

// A key rotated in right after a kid-miss fetch is found by the next
// allowed fetch: the miss waits for it instead of answering an unknown key.
func TestRemoteLimitedMissWaitsForNextFetch(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	k2 := publicOf(t, genKey(t, "RSA", "k2", "RS256"))
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o)

		// An attacker's random kid spends the kid-miss fetch.
		if set := mustKeys(t, r, "random"); !hasKid(set, "k1") {
			t.Fatal("current set not returned")
		}
		spent := time.Now()
		// The OP rotates; the genuine token's kid arrives within the interval.
		o.serve(http.StatusOK, setJSON(t, k1, k2), nil)
		got := make(chan error, 1)
		go func() {
			set, err := r.Keys(context.Background(), "k2")
			if err == nil && !hasKid(set, "k2") {
				err = fmt.Errorf("k2 not found: kids %v", kids(set))
			}
			got <- err
		}()
		synctest.Wait()
		if ok, n := r.Pending(); !ok || n != 1 {
			t.Fatalf("pending %v with %d waiters, want the miss waiting for the next fetch", ok, n)
		}
		if n := o.fetches.Load() - base; n != 1 {
			t.Fatalf("%d fetches before the interval passed, want 1", n)
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		if d := time.Since(spent); d != jwks.DefaultKidMissInterval {
			t.Errorf("answered %v after the spent fetch, want the interval, %v", d, jwks.DefaultKidMissInterval)
		}
		if n := o.fetches.Load() - base; n != 2 {
			t.Fatalf("%d fetches, want 2: one per interval", n)
		}
	})
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
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o)

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
			set, err := r.Keys(context.Background(), kid)
			switch {
			case err != nil:
				fail("Keys(%s): %v", kid, err)
			case genuine && !hasKid(set, "k2"):
				fail("genuine Keys(%s): kids %v", kid, kids(set))
			case !genuine && !hasKid(set, "k1"):
				fail("Keys(%s): current set not returned", kid)
			case genuine:
				mu.Lock()
				lateness = max(lateness, time.Since(rotatedAt))
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
		// settle waits until every lookup started is done or waiting, and
		// checks that no fetch is in flight: one would be charged to the
		// next interval.
		settle := func() {
			t.Helper()
			synctest.Wait()
			if n := finished.Load() + int64(r.MissWaiters()); n != int64(started) {
				t.Fatalf("%d lookups done or waiting, want %d", n, started)
			}
			if r.InFlight() {
				t.Fatal("a fetch in flight with every lookup waiting")
			}
		}
		// fetchesAt[i] counts the OP's fetches by the end of interval i.
		var fetchesAt []int64
		fetches := func() int64 { return o.fetches.Load() - base }
		// tick ends an interval: the loop starts the fetch it armed for the
		// waiting misses, and that fetch ends the waits it answers.
		tick := func() {
			t.Helper()
			fetchesAt = append(fetchesAt, fetches())
			before := fetches()
			time.Sleep(interval)
			settle()
			if fetches() == before {
				t.Fatal("the loop started no fetch")
			}
		}
		random := func(i int) string { return fmt.Sprintf("random-%d", i) }

		// The first third of the flood spends the allowed fetch and waits.
		start(flood/3, random, false)
		settle()
		tick()
		// The OP rotates in k2 while the flood goes on; genuine tokens come
		// mixed into it.
		o.serve(http.StatusOK, setJSON(t, k1, k2), nil)
		rotatedAt = time.Now()
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
	})
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
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o)
		mustKeys(t, r, "spend-the-fetch")

		var wg sync.WaitGroup
		for i := range 2 { // the flood
			wg.Go(func() { _, _ = r.Keys(context.Background(), fmt.Sprint("flood-", i)) })
		}
		synctest.Wait()
		if n := r.MissWaiters(); n != 2 {
			t.Fatalf("%d waiters, want the flood's 2", n)
		}
		o.serve(http.StatusOK, setJSON(t, k1, k2), nil) // the OP rotates k2 in

		got := make(chan *jwks.KeySet, 1)
		go func() {
			set, _ := r.Keys(context.Background(), "k2") // the OP's genuine token
			got <- set
		}()
		synctest.Wait()
		if n := r.MissWaiters(); n != 3 {
			t.Fatalf("%d waiters, want the genuine lookup waiting with the flood", n)
		}
		if set := <-got; !hasKid(set, "k2") {
			t.Fatal("a kid the OP rotated in was not found: a flood of unknown kids answered it with the old set")
		}
		wg.Wait()
		if n := o.fetches.Load() - base; n != 2 {
			t.Fatalf("%d fetches, want 2: the spent one and the next", n)
		}
	})
}

// Close ends every wait, and a miss answered by the fetch in flight
// leaves no pending fetch behind.
func TestRemoteMissWaitEnds(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
		synctest.Test(t, func(t *testing.T) {
			o := newOP(t, setJSON(t, k1))
			r, _ := newRemote(t, o)
			mustKeys(t, r, "spend-the-fetch")
			got := make(chan error, 1)
			go func() {
				_, err := r.Keys(context.Background(), "limited")
				got <- err
			}()
			synctest.Wait()
			if n := r.MissWaiters(); n != 1 {
				t.Fatalf("%d waiters, want 1", n)
			}
			_ = r.Close()
			if err := <-got; err != nil {
				t.Fatalf("Keys after Close: %v", err)
			}
		})
	})
	t.Run("answered by the fetch in flight", func(t *testing.T) {
		k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
		k2 := publicOf(t, genKey(t, "RSA", "k2", ""))
		synctest.Test(t, func(t *testing.T) {
			o := newOP(t, setJSON(t, k1))
			r, base := newRemote(t, o)
			o.serve(http.StatusOK, setJSON(t, k2), nil)
			gate := o.hold()
			var wg sync.WaitGroup
			for range 2 { // the first starts the fetch, the second joins it
				wg.Go(func() { mustKeys(t, r, "k2") })
			}
			synctest.Wait()
			if n := r.MissWaiters(); n != 2 {
				t.Fatalf("%d waiters, want 2", n)
			}
			o.release(gate)
			wg.Wait()
			if ok, _ := r.Pending(); ok {
				t.Fatal("a pending fetch was left with nobody waiting")
			}
			if n := o.fetches.Load() - base; n != 1 {
				t.Fatalf("%d fetches, want 1", n)
			}
		})
	})
}

// An OP times a delivery out after 5 to 10 s and rarely retries, so an
// unknown kid must be answered within 2 s, and a flood of them cost the OP
// about one fetch a second: the next kid-miss fetch is at most 1 s away,
// and a miss waits for it (sharing it with every other miss) at most
// 1.5 s. The background schedule's jitter leaves both bounds as they are:
// the next kid-miss fetch comes no sooner than the interval, nor later.
func TestRemoteMissAnsweredWithinBound(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
	for _, j := range []struct {
		name   string
		jitter func(n int64) int64
	}{
		{name: "no jitter", jitter: func(n int64) int64 { return n - 1 }},
		{name: "most jitter", jitter: func(int64) int64 { return 0 }},
	} {
		t.Run(j.name, func(t *testing.T) {
			// The OP holds the next kid-miss fetch: the wait ends at its
			// bound, whether or not the fetch came.
			t.Run("fetch held", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					o := newOP(t, setJSON(t, k1))
					r, base := newRemote(t, o, jwks.WithJitter(j.jitter))
					mustKeys(t, r, "spend-the-fetch")
					spent := time.Now()
					gate := o.hold()
					defer o.release(gate)

					got := make(chan error, 1)
					go func() { got <- missAnswered(r) }()
					time.Sleep(time.Second - time.Nanosecond)
					synctest.Wait()
					if n := o.fetches.Load() - base; n != 1 {
						t.Fatalf("%d fetches before the interval passed, want 1", n)
					}
					time.Sleep(time.Nanosecond)
					synctest.Wait()
					if n := o.fetches.Load() - base; n != 2 {
						t.Fatalf("%d fetches once the interval passed, want the next kid-miss fetch", n)
					}
					if err := <-got; err != nil {
						t.Fatal(err)
					}
					if d := time.Since(spent); d != 1500*time.Millisecond {
						t.Errorf("a kid miss waited %v, want its bound, 1.5s", d)
					}
				})
			})
			// The next kid-miss fetch is further away than the bound: the
			// wait ends without it, and nobody waits for it any more.
			t.Run("fetch beyond the bound", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					o := newOP(t, setJSON(t, k1))
					r, base := newRemote(t, o, jwks.WithJitter(j.jitter), jwks.WithKidMissInterval(10*time.Second))
					mustKeys(t, r, "spend-the-fetch")
					start := time.Now()
					if err := missAnswered(r); err != nil {
						t.Fatal(err)
					}
					if d := time.Since(start); d != 1500*time.Millisecond {
						t.Errorf("a kid miss waited %v, want its bound, 1.5s", d)
					}
					if ok, _ := r.Pending(); ok {
						t.Fatal("a pending fetch was left with nobody waiting")
					}
					time.Sleep(10 * time.Second)
					if n := o.fetches.Load() - base; n != 1 {
						t.Fatalf("%d fetches, want 1: a kid-miss fetch nobody waits for was made", n)
					}
				})
			})
		})
	}
}

// missAnswered looks up an unknown kid and checks it is answered with the
// current set.
func missAnswered(r *jwks.Remote) error {
	set, err := r.Keys(context.Background(), "unknown")
	if err == nil && !hasKid(set, "k1") {
		err = fmt.Errorf("current set not returned: kids %v", kids(set))
	}
	return err
}
