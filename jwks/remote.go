package jwks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
)

// errClosed is what a fetch asked of a closed Remote fails with.
var errClosed = errors.New("remote closed")

// Remote is a JWK Set fetched from a URL and kept fresh: in the background
// as the OP's cache headers say, and at once when a token names a kid the
// set does not hold. See the package documentation for the rules.
type Remote struct {
	url     string
	o       options
	ctx     context.Context // cancelled by Close; every fetch runs under it
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the loop and any fetch in flight
	resched chan struct{}  // a fetch finished: the loop recomputes its timer

	// cur is the last good set, read without r.mu on the hot path; nil
	// until a fetch succeeds. Written under r.mu.
	cur atomic.Pointer[snapshot]

	mu       sync.Mutex
	lastErr  error // error of the last fetch, nil after a success
	inflight *fetchCall
	// pending is the next kid-miss fetch, not started yet: kid misses
	// that came while the rate limit held wait for it. The loop starts it
	// once the limit allows (see scheduleLocked); any fetch started
	// earlier takes it over.
	pending     *fetchCall
	missWaiters int // Keys calls waiting for a kid-miss fetch
	lastKidMiss time.Time
	kidMissed   bool      // lastKidMiss is meaningful
	base        time.Time // the background schedule's next fetch
	next        time.Time // when the loop fetches: base, or sooner for pending
	failures    int       // consecutive failed fetches, for the backoff
	closed      bool
}

// snapshot is one generation of the key set; its kids are indexed by the
// KeySet itself.
type snapshot struct {
	set *KeySet
}

func newSnapshot(set *KeySet) *snapshot { return &snapshot{set: set} }

// serves reports whether the set answers a lookup for kid by itself.
func (s *snapshot) serves(kid string) bool {
	if s == nil {
		return false
	}
	return kid == "" || s.set.hasKeyID(kid)
}

func (s *snapshot) keySet() *KeySet {
	if s == nil {
		return nil
	}
	return s.set
}

// fetchCall is one fetch that every concurrent asker waits for.
type fetchCall struct {
	done    chan struct{}
	err     error // set before done is closed
	waiters int   // callers waiting; read by tests to know a fetch is shared
}

var _ Source = (*Remote)(nil)

// NewRemote returns a Source for the JWK Set at jwksURL and starts its
// background refresher, whose first fetch begins at once. The fetch need
// not succeed: until one does, Keys tries again (rate limited like a kid
// miss) and returns the last fetch's error. Close the Remote to stop the
// refresher.
//
// Every error is an invalid configuration: jwksURL must be https unless
// its host is loopback, and options must be valid.
func NewRemote(jwksURL string, opts ...Option) (*Remote, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if _, err := parseURL(jwksURL, o.allowHTTP); err != nil {
		return nil, errs.Config("jwks", "jwks url: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Remote{
		url:     jwksURL,
		o:       o,
		ctx:     ctx,
		cancel:  cancel,
		resched: make(chan struct{}, 1),
	}
	r.mu.Lock()
	first := r.startLocked()
	r.mu.Unlock()
	r.wg.Add(1)
	go r.loop(first)
	return r, nil
}

// Keys returns the current key set. When there is none yet, or kid is not
// empty and not in it, Keys waits for a fetch that started after it was
// called, so that a key the OP rotated in just now is found:
//
//   - if no kid-miss fetch happened within the last second and none is in
//     flight, it starts one;
//   - otherwise it waits for the next kid-miss fetch, which starts as soon
//     as that second is over, and meanwhile for a fetch in flight, whose
//     answer may already hold the kid. Every waiting call shares them.
//
// So a flood of unknown kids costs the OP about one fetch a second, and a
// genuine new kid is found within about a second whatever the flood does.
// The wait is bounded by ctx, by Close and by 1.5 s, so that a token is
// answered well within the 5 to 10 s an OP gives a delivery. A wait that
// ends without the
// kid returns the current set (the caller then reports an unknown key),
// or an error when there is no set: the last fetch's error (ErrFetch or
// ErrInvalidJWKS), or ErrFetch with ctx's error.
//
// After Close, Keys serves the last set and fetches nothing.
func (r *Remote) Keys(ctx context.Context, kid string) (*KeySet, error) {
	if snap := r.cur.Load(); snap.serves(kid) {
		return snap.set, nil
	}
	return r.fetchFor(ctx, kid, false)
}

// Refresh returns the key set as a fetch that started after it was
// called answered it, with the limits a kid miss has (at most one such
// fetch a second, a wait of at most 1.5 s, bounded by ctx; after Close,
// no fetch): when the wait ends first, it returns the current set, as
// Keys does. It is the kid miss of a rotation that names no new kid. A
// verifier calls it when the cached key a token selects does not verify
// it, since an OP with one key and no kid (OpenID Connect Core §10.1)
// that rotates it, or one that makes a new key under its old kid, names
// no new kid to miss, and its logouts would otherwise be refused until
// the next scheduled refresh.
func (r *Remote) Refresh(ctx context.Context) (*KeySet, error) {
	return r.fetchFor(ctx, "", true)
}

// fetchFor is Keys past its cached answer: it waits for the fetches it
// joins, the last of which started after the call, until a set serves
// kid or, when fresh (Refresh), until the last has answered.
func (r *Remote) fetchFor(ctx context.Context, kid string, fresh bool) (*KeySet, error) {
	r.mu.Lock()
	// Re-read under the lock: a fetch may have just landed.
	snap := r.cur.Load()
	if !fresh && snap.serves(kid) {
		r.mu.Unlock()
		return snap.set, nil
	}
	var first, next *fetchCall
	switch {
	case r.closed:
	case r.inflight == nil && r.kidMissAllowedLocked():
		// Started now, so its answer is as fresh as this miss.
		first = r.startLocked()
		r.lastKidMiss, r.kidMissed = time.Now(), true
	default:
		// A fetch in flight started before this miss and may predate a
		// rotation: wait for it and for the next one. Every miss waits,
		// however many already do: a cap on the waiters would let a flood
		// of made-up kids fill it and answer a genuine token signed with a
		// key rotated in meanwhile with the old set, losing its logout. A
		// wait holds only the caller's own goroutine, for at most 1.5 s.
		first = r.inflight
		next = r.pendingLocked()
	}
	if first == nil && next == nil {
		set, err := snap.keySet(), r.lastErr
		r.mu.Unlock()
		return r.keysResult(set, err)
	}
	for _, c := range []*fetchCall{first, next} {
		if c != nil {
			c.waiters++
		}
	}
	r.missWaiters++
	r.mu.Unlock()
	defer r.leave(first, next)

	// The bound, not the fetches, decides how long the caller is held:
	// an OP answers its own delivery only when the RP does.
	limit := time.NewTimer(maxMissWait)
	defer limit.Stop()
	for _, c := range []*fetchCall{first, next} {
		if c == nil {
			continue
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return r.keysResult(r.cur.Load().keySet(), ctx.Err())
		case <-limit.C:
			return r.current()
		case <-r.ctx.Done():
			return r.current()
		}
		// A fetch in flight (first) may predate a rotation: fresh waits
		// for every fetch it joined, as a kid it does not find would.
		if snap := r.cur.Load(); !fresh && snap.serves(kid) {
			return snap.set, nil
		}
	}
	return r.current()
}

// current returns the current set, or the last fetch's error.
func (r *Remote) current() (*KeySet, error) {
	r.mu.Lock()
	set, err := r.cur.Load().keySet(), r.lastErr
	r.mu.Unlock()
	return r.keysResult(set, err)
}

// pendingLocked returns the next kid-miss fetch, scheduling it if needed.
func (r *Remote) pendingLocked() *fetchCall {
	if r.pending == nil {
		r.pending = &fetchCall{done: make(chan struct{})}
		r.scheduleLocked()
	}
	return r.pending
}

// leave undoes a Keys call's waiting. A pending fetch nobody waits for any
// more is dropped, so a miss answered by the fetch in flight costs the OP
// nothing more.
func (r *Remote) leave(first, next *fetchCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.missWaiters--
	if first != nil {
		first.waiters--
	}
	if next != nil {
		next.waiters--
		if next == r.pending && next.waiters == 0 {
			r.pending = nil
			r.scheduleLocked()
		}
	}
}

// scheduleLocked sets when the loop fetches next: on the background
// schedule, or as soon as the kid-miss interval allows while a pending
// fetch has waiters. It wakes the loop to re-arm.
func (r *Remote) scheduleLocked() {
	r.next = r.base
	if r.pending != nil {
		r.next = r.lastKidMiss.Add(r.o.kidMissInterval)
		if r.base.Before(r.next) {
			r.next = r.base
		}
	}
	select {
	case r.resched <- struct{}{}:
	default:
	}
}

// keysResult is what Keys answers: set, or why there is none. err is the
// last fetch's error, which names the URL, or a wait's own end.
func (r *Remote) keysResult(set *KeySet, err error) (*KeySet, error) {
	switch {
	case set != nil:
		return set, nil
	case errors.Is(err, ErrFetch) || errors.Is(err, ErrInvalidJWKS):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w %s: %w", ErrFetch, r.url, err)
	default:
		return nil, fmt.Errorf("%w %s: no answer yet", ErrFetch, r.url)
	}
}

func (r *Remote) kidMissAllowedLocked() bool {
	return !r.kidMissed || time.Since(r.lastKidMiss) >= r.o.kidMissInterval
}

// refresh fetches the key set now, or waits for the fetch already in
// flight, and returns that fetch's error. A failed fetch keeps the last
// good set. If ctx ends first, refresh returns its error and the fetch
// carries on.
func (r *Remote) refresh(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("%w %s: %w", ErrFetch, r.url, errClosed)
	}
	c := r.startLocked()
	c.waiters++
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("%w %s: %w", ErrFetch, r.url, ctx.Err())
	}
}

// Close stops the background refresher, cancels a fetch in flight and
// waits for both to end. It is safe to call more than once.
func (r *Remote) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	if r.o.ownClient {
		// Idle keep-alive connections hold transport goroutines.
		r.o.client.CloseIdleConnections()
	}
	return nil
}

// startLocked returns the fetch in flight or starts one. A pending kid-miss
// fetch is the one started, so its waiters get this fetch's answer, and
// the kid-miss interval counts from now. r.mu is held and r.closed is
// false, so wg.Add cannot race Close's wg.Wait.
func (r *Remote) startLocked() *fetchCall {
	if r.inflight != nil {
		return r.inflight
	}
	c := r.pending
	if c != nil {
		r.pending = nil
		r.lastKidMiss, r.kidMissed = time.Now(), true
	} else {
		c = &fetchCall{done: make(chan struct{})}
	}
	r.inflight = c
	r.wg.Add(1)
	go r.fetch(c)
	return c
}

// loop waits for the fetch c, then for r.next, fetches, and so on. Any
// fetch, wherever started, moves r.next and makes the loop re-arm.
func (r *Remote) loop(c *fetchCall) {
	defer r.wg.Done()
	for {
		select {
		case <-c.done:
		case <-r.ctx.Done():
			return
		}
		// The fetch signalled before done closed: drop that signal so it
		// does not cost a second timer.
		select {
		case <-r.resched:
		default:
		}
		if !r.waitNext() {
			return
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		c = r.startLocked()
		r.mu.Unlock()
	}
}

// waitNext blocks until r.next, re-arming whenever a fetch moves it; it
// reports false when the Remote is closing.
func (r *Remote) waitNext() bool {
	for {
		r.mu.Lock()
		d := max(time.Until(r.next), 0)
		r.mu.Unlock()

		t := time.NewTimer(d)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return false
		case <-r.resched:
			t.Stop()
		case <-t.C:
			return true
		}
	}
}

// fetch runs one fetch for c and publishes its outcome.
func (r *Remote) fetch(c *fetchCall) {
	defer r.wg.Done()
	// Bounded whatever the client's own timeout (http.DefaultClient has
	// none): a fetch that hangs would hold back every later one, kid
	// misses included, and with them every rotated key.
	ctx, cancel := context.WithTimeout(r.ctx, maxFetch)
	defer cancel()
	body, hdr, err := discovery.Get(ctx, r.o.client, r.url, false)
	var set *KeySet
	if err == nil {
		set, err = r.parse(body)
	}
	now := time.Now()

	r.mu.Lock()
	var wait time.Duration
	if err == nil {
		r.cur.Store(newSnapshot(set))
		r.lastErr, r.failures = nil, 0
		wait = r.o.jittered(refreshDelay(hdr, now, r.o.minRefresh, r.o.maxRefresh), refreshJitter)
	} else {
		r.lastErr = err
		r.failures++
		wait = r.o.jittered(backoff(r.failures, r.o.minRefresh), retryJitter)
	}
	r.base = now.Add(wait)
	r.inflight = nil
	c.err = err
	hasSet := r.cur.Load() != nil
	r.scheduleLocked() // wakes the loop to re-arm
	r.mu.Unlock()

	switch {
	case err == nil:
		r.o.logger.Debug("jwks: key set fetched", "url", r.url, "keys", set.len(), "next", wait)
	case r.ctx.Err() != nil:
		// Closing: not a failure worth a log line.
	default:
		r.o.logger.Warn("jwks: key set fetch failed", "url", r.url, "error", err, "keeping_last_good", hasSet, "retry_in", wait)
	}
	// A fetch cut short by Close is no OP failure: keep it out of metrics.
	if r.o.onRefresh != nil && r.ctx.Err() == nil {
		r.o.onRefresh(r.url, err)
	}
	close(c.done)
}

// parse turns a fetched body into the set to serve: entries that cannot
// verify signatures are dropped and logged, and a set left empty is an
// error so that the last good one stays.
func (r *Remote) parse(body []byte) (*KeySet, error) {
	set, err := parseSet(body)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrInvalidJWKS, r.url, err)
	}
	out, skipped := publicKeys(set, false)
	for _, s := range skipped {
		r.o.logger.Warn("jwks: key skipped", "url", r.url, "reason", s)
	}
	if out.len() == 0 {
		return nil, fmt.Errorf("%w at %s: %w", ErrInvalidJWKS, r.url, errNoUsableKey(skipped))
	}
	return out, nil
}

// backoff doubles from retryBase with each consecutive failure, capped by
// the lower refresh bound so an outage never delays recovery longer than a
// healthy OP's shortest refresh would.
func backoff(failures int, ceiling time.Duration) time.Duration {
	d := retryBase
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// jittered shortens d by a random part of at most percent of it. Only the
// background schedule is jittered: the kid-miss schedule is a rate limit,
// and the 1.5 s a miss waits counts on it.
func (o *options) jittered(d time.Duration, percent int64) time.Duration {
	spread := d / 100 * time.Duration(percent)
	return d - spread + time.Duration(o.jitter(int64(spread)+1))
}

// refreshDelay reads how long the OP says its JWK Set stays fresh
// (Cache-Control max-age, else Expires minus Date, either minus Age) and
// clamps it into [lo, hi]. no-store and no-cache ask for the lower bound;
// no usable header means defaultRefresh.
func refreshDelay(h http.Header, now time.Time, lo, hi time.Duration) time.Duration {
	d, ok := freshness(h, now)
	if !ok {
		d = defaultRefresh
	}
	return min(max(d, lo), hi)
}

func freshness(h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	maxAge := int64(-1)
	for _, cc := range h.Values("Cache-Control") {
		for _, directive := range strings.Split(cc, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				if secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && secs >= 0 && maxAge < 0 {
					maxAge = secs
				}
			}
		}
	}
	// RFC 9111 §4.2.3: the time the answer already spent in caches on the
	// way (Age, taken as current_age: the fetch itself is short) is gone
	// from its freshness lifetime, whichever header gave it (§4.2.1).
	// Capping before multiplying keeps huge values from overflowing a
	// Duration.
	const century = int64(100 * 365 * 24 * time.Hour / time.Second)
	age, _ := strconv.ParseInt(h.Get("Age"), 10, 64)
	current := time.Duration(min(max(age, 0), century)) * time.Second
	if maxAge >= 0 {
		return time.Duration(min(maxAge, century))*time.Second - current, true
	}
	if exp := h.Get("Expires"); exp != "" {
		expires, err := http.ParseTime(exp)
		if err != nil {
			// RFC 9111 §5.3: an invalid Expires means already expired.
			return 0, true
		}
		// Date is the OP's clock, as Expires is: their difference is the
		// lifetime whatever the skew between the OP's clock and ours.
		base := now
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			base = date
		}
		// Sub saturates: subtracting from its minimum would wrap around.
		return max(expires.Sub(base), current) - current, true
	}
	return 0, false
}
