package rp

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/sessionadapter"
)

// Defaults of RetryPolicy.
const (
	// DefaultRetryCapacity is how many failed logouts wait for a retry.
	DefaultRetryCapacity = 10_000
	// DefaultRetryMinBackoff is the first wait before a retry.
	DefaultRetryMinBackoff = time.Second
	// DefaultRetryMaxBackoff caps the wait between two retries of one
	// logout: once the store is back, every pending logout is retried
	// within this time (plus the time the attempts ahead of it take).
	DefaultRetryMaxBackoff = time.Minute
	// DefaultRetryAttemptTimeout bounds one retry's store work when the
	// Handler has no WithLogoutTimeout.
	DefaultRetryAttemptTimeout = 10 * time.Second
)

// Reasons LogoutAbandoned reports.
const (
	// AbandonFull: the retry queue was at capacity; the logout never
	// became pending.
	AbandonFull = "full"
	// AbandonExpired: retried for RetryPolicy.For without success.
	AbandonExpired = "expired"
	// AbandonClosed: still pending when Close's deadline passed, or failed
	// after Close began.
	AbandonClosed = "closed"
)

// RetryPolicy configures WithRetry. A zero field takes its default.
type RetryPolicy struct {
	// Capacity bounds the failed logouts waiting for a retry (default
	// DefaultRetryCapacity). A failed logout that finds the queue full is
	// counted and logged as abandoned (reason "full"), never dropped
	// silently. Each pending logout holds its validated LogoutEvent (for
	// OnLogout), claims included: about 1 KiB for a typical token.
	Capacity int
	// MinBackoff is the wait before the first retry (default 1 s); each
	// failure doubles it, up to MaxBackoff (default 1 min). Every wait is
	// jittered to between half and all of its value, so that logouts that
	// failed together do not retry together.
	MinBackoff, MaxBackoff time.Duration
	// For is how long after the failure a logout is retried before it is
	// abandoned (reason "expired"): the lifetime of the sessions it ends,
	// since a session older than that has expired by itself (default
	// sessionadapter.DefaultSessionLifetime).
	For time.Duration
}

// WithRetry makes the Handler retry, in the background, the logouts it
// answered with 400 temporarily_unavailable because a store failed: the
// replay cache while reserving the jti, or the session Ender. Most OPs
// send a logout token once and never retry a 400 (SPEC-NOTES), so without
// this a store outage loses every logout it spans.
//
// The OP still gets the honest 400 and the jti is still released, so its
// own retry can succeed; the Handler also keeps the validated logout in a
// bounded in-memory queue and retries it with backoff until it succeeds
// or p.For has passed. Each retry does what the request would have done,
// under one deadline (WithLogoutTimeout, else DefaultRetryAttemptTimeout):
// reserve the jti, end the sessions through the Ender, commit the jti. A
// retry that finds the jti already used does nothing: the OP's own retry
// (in this process or another replica) ended the sessions. Once the
// token's acceptance window has closed, the replay cache cannot tell any
// more and the retry calls the Ender directly; Enders must be idempotent
// (sessionadapter.Ender), and a revoking Ender never ends a session that
// logged in after the logout's iat.
//
// A logout that succeeds through the queue has consumed its jti: an OP
// that delivers the same token afterwards is answered 400 ("already
// used"), as for any token whose logout succeeded.
//
// The queue lives in this process: logouts still pending when it stops
// are lost, so call Close at shutdown to give them a last chance. Pending
// and abandoned logouts are reported to Metrics and logged.
func WithRetry(p RetryPolicy) HandlerOption {
	return func(o *handlerOptions) { o.retry = &p }
}

// Close stops the retry queue of WithRetry: failed logouts are no longer
// queued, and every pending one is retried at once and then with backoff
// until the queue is empty or ctx is done. The logouts still pending then
// are abandoned (reason "closed", each logged) and Close returns an error
// wrapping ctx's. No goroutine of the Handler outlives Close. Close is a
// no-op without WithRetry; a second call waits like the first.
func (h *Handler) Close(ctx context.Context) error {
	if h.retry == nil {
		return nil
	}
	return h.retry.close(ctx)
}

// retryClock is the time the retry queue waits on; tests inject a fake.
type retryClock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed, and the
	// function that stops it.
	After(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) After(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// retryKey identifies a logout in the queue: a token's (iss, jti), so the
// OP's repeated deliveries of one token are one pending logout.
type retryKey struct{ issuer, jti string }

// retryItem is one pending logout: what a retry needs of the validated
// event, and its schedule.
type retryItem struct {
	key    retryKey
	ev     *LogoutEvent // for OnLogout once a retry ended the sessions
	logout sessionadapter.Logout
	// held is the request's replay claim when its Release failed: the
	// claim still guards the jti (until the token expires), so a retry
	// must act through it rather than take it for another delivery's.
	// Only the attempt in progress touches it.
	held *replay.Reservation
	// orphan is the claim a failed Reserve of this logout may have left
	// standing (its reply lost after the cache applied it), as that
	// Reserve named it. A retry Releases it before reserving again, so
	// that it never takes its own claim for another delivery's.
	orphan *replay.Reservation
	// unsure is set once a Reserve of this logout failed in a way that
	// may have reserved the jti all the same but named no claim (a Cache
	// whose failed Reserve returns a zero Token): a later ErrReplayed may
	// then be that lost claim of ours, not another delivery's, so it ends
	// the sessions anyway.
	unsure   bool
	giveUp   time.Time
	failures int
	due      time.Time
	index    int // in the heap; -1 while an attempt runs or once removed
	removed  bool
}

// retryHeap orders pending logouts by due time.
type retryHeap []*retryItem

func (q retryHeap) Len() int           { return len(q) }
func (q retryHeap) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q retryHeap) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *retryHeap) Push(x any) {
	it := x.(*retryItem)
	it.index = len(*q)
	*q = append(*q, it)
}
func (q *retryHeap) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	it.index = -1
	return it
}

// retryQueue runs the retries of one Handler in one goroutine, one
// attempt at a time: a store that has just recovered is not hit by every
// pending logout at once.
type retryQueue struct {
	h      *Handler
	p      RetryPolicy
	clock  retryClock
	jitter func(n int64) int64 // in [0, n)

	mu      sync.Mutex
	items   map[retryKey]*retryItem
	heap    retryHeap
	closing bool

	wake    chan struct{} // a new item, or Close
	abort   chan struct{} // Close's deadline passed
	done    chan struct{} // the goroutine ended
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	closeMu sync.Mutex
	closed  error
	// abandonedAtClose counts the logouts Close gave up on; under mu
	// until done is closed, read by close after.
	abandonedAtClose int
}

func newRetryQueue(h *Handler, p RetryPolicy, clock retryClock, jitter func(int64) int64) *retryQueue {
	ctx, cancel := context.WithCancel(context.Background())
	if jitter == nil {
		jitter = rand.Int64N
	}
	q := &retryQueue{
		h: h, p: p, clock: clock, jitter: jitter,
		items: make(map[retryKey]*retryItem),
		wake:  make(chan struct{}, 1), abort: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	go q.run()
	return q
}

// checkRetryPolicy fills in the defaults and refuses what cannot work.
func checkRetryPolicy(p *RetryPolicy) error {
	if p.Capacity < 0 || p.MinBackoff < 0 || p.MaxBackoff < 0 || p.For < 0 {
		return configError("retry policy fields must not be negative: %+v", *p)
	}
	if p.Capacity == 0 {
		p.Capacity = DefaultRetryCapacity
	}
	if p.MinBackoff == 0 {
		p.MinBackoff = DefaultRetryMinBackoff
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = max(DefaultRetryMaxBackoff, p.MinBackoff)
	}
	if p.For == 0 {
		p.For = sessionadapter.DefaultSessionLifetime
	}
	if p.MinBackoff > p.MaxBackoff {
		return configError("retry MinBackoff %v exceeds MaxBackoff %v", p.MinBackoff, p.MaxBackoff)
	}
	return nil
}

// backoff is the jittered wait after failures failures: half to all of
// min(MaxBackoff, MinBackoff·2^(failures-1)).
func (q *retryQueue) backoff(failures int) time.Duration {
	b := q.p.MinBackoff
	for i := 1; i < failures && b < q.p.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, q.p.MaxBackoff)
	half := b / 2
	return b - half + time.Duration(q.jitter(int64(half)+1))
}

// add queues a validated logout whose store work failed. A logout already
// pending is not queued twice. held is the request's replay claim when it
// could not be released, nil otherwise; reserveErr is the error of the
// request's Reserve when that failed, with the Reservation it returned
// (see orphanOf).
func (q *retryQueue) add(ev *LogoutEvent, held *replay.Reservation, failed replay.Reservation, reserveErr error) {
	orphan, unsure := orphanOf(failed, reserveErr)
	key := retryKey{ev.Issuer, ev.JTI}
	q.mu.Lock()
	if _, ok := q.items[key]; ok {
		q.mu.Unlock()
		return
	}
	if q.closing || len(q.items) >= q.p.Capacity {
		closing := q.closing
		q.mu.Unlock()
		if closing {
			// Queued and abandoned at once, so that pending stays
			// queued minus retried minus abandoned.
			if m := q.h.o.metrics; m != nil {
				m.LogoutQueued(key.issuer)
			}
			q.abandon(key, ev.Logout(), AbandonClosed, 1)
			return
		}
		q.abandon(key, ev.Logout(), AbandonFull, 1)
		return
	}
	now := q.clock.Now()
	it := &retryItem{
		key: key, ev: ev, logout: ev.Logout(), held: held, orphan: orphan, unsure: unsure,
		giveUp: now.Add(q.p.For), failures: 1,
	}
	it.due = now.Add(q.backoff(1))
	// Reported before the worker can see the item, so that its retry is
	// never counted before its queueing.
	if m := q.h.o.metrics; m != nil {
		m.LogoutQueued(key.issuer)
	}
	q.items[key] = it
	heap.Push(&q.heap, it)
	pending := len(q.items)
	q.mu.Unlock()
	q.signal()
	q.h.o.logger.Warn("bclogout: logout failed, queued for retry", "issuer", key.issuer, "has_sid", it.logout.SessionID != "", "pending", pending, "retry_in", it.due.Sub(now))
}

// forget drops a pending logout that the OP's own delivery completed.
func (q *retryQueue) forget(issuer, jti string) {
	key := retryKey{issuer, jti}
	q.mu.Lock()
	it, ok := q.items[key]
	if ok {
		q.remove(it)
	}
	q.mu.Unlock()
	if ok {
		if m := q.h.o.metrics; m != nil {
			m.LogoutRetried(issuer, 0)
		}
		q.h.o.logger.Debug("bclogout: pending logout completed by the OP's delivery", "issuer", issuer)
	}
}

// remove takes it out of the queue; q.mu is held.
func (q *retryQueue) remove(it *retryItem) {
	delete(q.items, it.key)
	it.removed = true
	if it.index >= 0 {
		heap.Remove(&q.heap, it.index)
	}
}

func (q *retryQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run retries due logouts until the queue is closed and empty, or Close's
// deadline passes.
func (q *retryQueue) run() {
	defer close(q.done)
	defer q.cancel()
	for {
		select {
		case <-q.abort:
			q.abandonAll()
			return
		default:
		}
		q.mu.Lock()
		if q.closing && len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		now := q.clock.Now()
		var wait <-chan time.Time
		var stop func() bool
		var d time.Duration
		if len(q.heap) > 0 {
			next := q.heap[0]
			if !next.due.After(now) {
				heap.Pop(&q.heap)
				q.mu.Unlock()
				q.attempt(next)
				continue
			}
			d = next.due.Sub(now)
		}
		q.mu.Unlock()
		if d > 0 {
			// An item added from here on signals wake, so the wait
			// below cannot miss it.
			wait, stop = q.clock.After(d)
		}
		select {
		case <-wait:
		case <-q.wake:
		case <-q.abort:
			if stop != nil {
				stop()
			}
			q.abandonAll()
			return
		}
		if stop != nil {
			stop()
		}
	}
}

// attempt runs one retry of it and reschedules or finishes it.
func (q *retryQueue) attempt(it *retryItem) {
	n, err := q.h.retryLogout(q.ctx, it)
	q.mu.Lock()
	if it.removed { // the OP's delivery completed it meanwhile
		q.mu.Unlock()
		return
	}
	if err == nil || errors.Is(err, errDoneElsewhere) {
		q.remove(it)
		q.mu.Unlock()
		if m := q.h.o.metrics; m != nil {
			m.LogoutRetried(it.key.issuer, n)
		}
		if err != nil {
			q.h.o.logger.Info("bclogout: queued logout completed by another delivery of its token", "issuer", it.key.issuer)
			return
		}
		q.h.o.logger.Info("bclogout: queued logout completed", "issuer", it.key.issuer, "sessions_ended", n, "attempts", it.failures+1)
		if f := q.h.o.onLogout; f != nil {
			q.onLogout(f, it.ev, n)
		}
		return
	}
	now := q.clock.Now()
	it.failures++
	if !now.Before(it.giveUp) {
		q.remove(it)
		q.mu.Unlock()
		q.abandon(it.key, it.logout, AbandonExpired, it.failures)
		return
	}
	it.due = now.Add(q.backoff(it.failures))
	if it.due.After(it.giveUp) {
		it.due = it.giveUp
	}
	heap.Push(&q.heap, it)
	q.mu.Unlock()
	// Debug: the failure that queued the logout was logged at Error, the
	// pending gauge shows the queue, and a store that stays down would
	// otherwise log every pending logout at every backoff.
	q.h.o.logger.Debug("bclogout: retry of a queued logout failed", "issuer", it.key.issuer, "failures", it.failures, "retry_in", it.due.Sub(now), "error", err)
}

// reserveMayHaveApplied reports whether a failed Reserve may have reserved
// the pair all the same: any failure but the cache's own refusals, since a
// network error or a timeout can come after the command was applied.
func reserveMayHaveApplied(err error) bool {
	return !errors.Is(err, replay.ErrFull) && !errors.Is(err, replay.ErrExpired) && !errors.Is(err, replay.ErrReplayed)
}

// orphanOf sorts out what a failed Reserve (r, err) may have left: the
// claim it named, or, when it may have reserved the pair but named no
// claim, unsure.
func orphanOf(r replay.Reservation, err error) (orphan *replay.Reservation, unsure bool) {
	if err == nil || !reserveMayHaveApplied(err) {
		return nil, false
	}
	if r.Token == ([16]byte{}) {
		return nil, true
	}
	return &r, false
}

// errDoneElsewhere means a retry found its jti already used: another
// delivery of the token ended the sessions and ran OnLogout.
var errDoneElsewhere = errors.New("rp: logout completed by another delivery")

// onLogout runs the OnLogout hook for a logout the queue completed,
// under the queue's context (cancelled when Close gives up); a panic is
// logged, not allowed to end the queue.
func (q *retryQueue) onLogout(f func(context.Context, *LogoutEvent, int), ev *LogoutEvent, n int) {
	defer func() {
		if p := recover(); p != nil {
			q.h.o.logger.Error("bclogout: OnLogout panicked after a retried logout", "issuer", ev.Issuer, "panic", fmt.Sprint(p))
		}
	}()
	f(q.ctx, ev, n)
}

// abandon reports a logout that will not be retried.
func (q *retryQueue) abandon(key retryKey, l sessionadapter.Logout, reason string, failures int) {
	if m := q.h.o.metrics; m != nil {
		m.LogoutAbandoned(key.issuer, reason)
	}
	q.h.o.logger.Error("bclogout: failed logout abandoned; its sessions may live on", "issuer", key.issuer, "reason", reason,
		"has_sub", l.Subject != "", "has_sid", l.SessionID != "", "failures", failures)
}

// abandonAll abandons every pending logout once Close's deadline passed.
func (q *retryQueue) abandonAll() {
	q.mu.Lock()
	left := make([]*retryItem, 0, len(q.items))
	for _, it := range q.items {
		left = append(left, it)
	}
	for _, it := range left {
		q.remove(it)
	}
	q.abandonedAtClose += len(left)
	q.mu.Unlock()
	for _, it := range left {
		q.abandon(it.key, it.logout, AbandonClosed, it.failures)
	}
}

// close makes every pending logout due now, waits for the queue to empty
// until ctx is done, then abandons the rest.
func (q *retryQueue) close(ctx context.Context) error {
	q.closeMu.Lock()
	defer q.closeMu.Unlock()
	q.mu.Lock()
	if !q.closing {
		q.closing = true
		now := q.clock.Now()
		for _, it := range q.heap {
			it.due = now
		}
		heap.Init(&q.heap)
	}
	q.mu.Unlock()
	q.signal()
	select {
	case <-q.done:
		return q.closed
	case <-ctx.Done():
	}
	q.once.Do(func() {
		close(q.abort)
		q.cancel() // cuts off the attempt that is running
	})
	<-q.done
	if q.abandonedAtClose > 0 && q.closed == nil {
		q.closed = fmt.Errorf("rp: closing the retry queue: %d pending logouts abandoned: %w", q.abandonedAtClose, ctx.Err())
	}
	return q.closed
}

// retryLogout is one retry of a queued logout: the store work of a
// request, under one deadline. A jti already used means another delivery
// ended the sessions: done. Past the token's window the replay cache
// cannot tell any more, and the Ender is called alone.
func (h *Handler) retryLogout(ctx context.Context, it *retryItem) (int, error) {
	timeout := h.o.logoutTimeout
	if timeout <= 0 {
		timeout = DefaultRetryAttemptTimeout
	}
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var claim replay.Reservation
	var err error
	switch {
	case it.held != nil:
		// The failed request's claim still stands: it is this logout's.
		claim = *it.held
	case it.orphan != nil:
		// A failed Reserve may have left its claim: free it first, or the
		// Reserve below would take it for another delivery's.
		if err := h.o.replay.Release(ctx, *it.orphan); err != nil {
			return 0, fmt.Errorf("%w: replay cache: releasing a claim a failed reserve may have left: %w", ErrTemporary, err)
		}
		it.orphan = nil
		fallthrough
	default:
		claim, err = h.o.replay.Reserve(ctx, it.key.issuer, it.key.jti, it.ev.AcceptableUntil)
	}
	reserved := err == nil
	switch {
	case err == nil, errors.Is(err, replay.ErrExpired):
	case errors.Is(err, replay.ErrReplayed) && it.unsure:
		// Maybe our own claim, lost to an earlier failed Reserve: end the
		// sessions without it. Ending them again is harmless if another
		// delivery did (Enders are idempotent and never end a login newer
		// than the logout); skipping could lose the logout.
	case errors.Is(err, replay.ErrReplayed):
		return 0, errDoneElsewhere
	default:
		if orphan, unsure := orphanOf(claim, err); orphan != nil {
			it.orphan = orphan
		} else if unsure {
			it.unsure = true
		}
		return 0, fmt.Errorf("%w: replay cache: %w", ErrTemporary, err)
	}
	n, err := h.endSessions(ctx, deadline.Add(-timeout/5), it.logout)
	if err != nil {
		if reserved {
			if rerr := h.o.replay.Release(ctx, claim); rerr != nil {
				h.o.logger.Error("bclogout: releasing jti after a failed retry failed", "issuer", it.key.issuer, "error", rerr)
				it.held = &claim
			} else {
				it.held = nil
			}
		}
		return 0, err
	}
	if reserved {
		if err := h.o.replay.Commit(ctx, claim); err != nil && !errors.Is(err, replay.ErrReservationLost) {
			h.o.logger.Error("bclogout: committing jti after a retry failed", "issuer", it.key.issuer, "error", err)
		}
	}
	return n, nil
}
