package jwks_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/jwks"
)

// TestReviewKidFloodHidesRotatedKey: Keys documents that "a genuine new
// kid is found within about a second whatever the flood does". When a
// flood of unknown kids held the waiter limit (4096, since removed), a
// token signed with a key the OP had just rotated in was answered at
// once with the old set: rp reports an unknown key (ErrSignature, 400
// invalid_request, which no retry queue picks up since the token never
// verified), and the OP's genuine logout is lost. The fetch that would
// have found the key happens a moment later, for the flood alone.
func TestReviewKidFloodHidesRotatedKey(t *testing.T) {
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
		t.Fatal("a kid the OP rotated in was not found: a flood of unknown kids at the waiter limit answered it with the old set")
	}
}
