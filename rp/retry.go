package rp

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bclogout/bclogout/internal/defaults"
)

// Defaults of the retry queue.
const (
	// retryCapacity bounds the failed logouts waiting for a retry. Each
	// holds its validated LogoutEvent, about 200 bytes, so the queue's
	// memory stays a few megabytes whatever the outage.
	retryCapacity = 10_000
	// retryMinBackoff is the first wait before a retry.
	retryMinBackoff = time.Second
	// retryMaxBackoff caps the wait between two retries of one logout:
	// once the store is back, every pending logout is retried within it
	// (plus the time the attempts ahead of it take).
	retryMaxBackoff = time.Minute
	// retryAttemptTimeout bounds one retry's store work when the Handler
	// has no WithLogoutTimeout.
	retryAttemptTimeout = 10 * time.Second
)

// Retry queue events reported to WithMetrics.
const (
	retryQueued    = "queued"
	retryRetried   = "retried"
	abandonFull    = "abandoned_full"
	abandonExpired = "abandoned_expired"
	abandonClosed  = "abandoned_closed"
)

// WithRetry makes the Handler retry, in the background, the logouts it
// answered with 400 temporarily_unavailable because a store failed (the
// replay cache or the session Ender). Most OPs send a logout token once
// and never retry a 400 (Back-Channel Logout 1.0 §2.8 leaves it to them),
// so without this a store outage loses every logout it spans.
//
// The OP still gets the honest 400, and nothing was recorded, so its own
// retry can succeed. The Handler also keeps the validated logout in a
// bounded in-memory queue and retries it until it succeeds or keepFor has
// passed since the failure. keepFor is the lifetime of the sessions the
// logout ends, since a session older than that has expired by itself;
// zero means 30 days, the sessionadapter default. The first wait is 1 s
// and each failure doubles it, up to 1 min: once the store is back, every
// pending logout is retried within a minute (plus the time the attempts
// ahead of it take). Every wait is jittered to between half and all of
// its value, so that logouts that failed together do not retry together.
// At most 10,000 logouts wait, of which at most a
// quarter without a token (front-channel requests, which anyone can send,
// and Sign outs: they never crowd out a logout token); one more
// is abandoned, never dropped silently. A retry is the same logout the
// request ran, under one deadline (WithLogoutTimeout, else 10 s): end
// the sessions through the Ender, then record the token as completed. A
// retry that finds the token already recorded does nothing: another
// delivery (here or at another replica) completed it. Running a logout
// twice is harmless, since Enders are idempotent and a revoking Ender
// never ends a session that logged in after the token's iat.
//
// The queue lives in this process: logouts still pending when it stops
// are lost, so call Close at shutdown to give them a last chance. Pending
// and abandoned logouts are reported to Metrics and logged.
func WithRetry(keepFor time.Duration) HandlerOption {
	return func(o *handlerOptions) { o.retry, o.retryFor = true, keepFor }
}

// retryPolicy is how the retry queue works: keepFor is WithRetry's, the
// rest are constants that only tests change (export_test.go).
type retryPolicy struct {
	keepFor    time.Duration
	maxBackoff time.Duration
	minBackoff time.Duration
	capacity   int
}

// Close stops the retry queue of WithRetry: failed logouts are no longer
// queued, and every pending one is retried at once and then with backoff until
// the queue is empty or ctx is done. The logouts still pending then are
// abandoned (each logged, and reported as "abandoned_closed") and Close returns
// an error wrapping ctx's. No goroutine of the Handler outlives Close. Close is
// a no-op without WithRetry; a second call waits like the first.
func (h *Handler) Close(ctx context.Context) error {
	if h.retry == nil {
		return nil
	}
	return h.retry.close(ctx)
}

// retryKey identifies a logout in the queue: a token's (iss, jti), so the
// sender's repeated deliveries of one token are one pending logout; for an
// event without a token (front-channel, Sign out), what it revokes, so
// that the same request sent again is one pending logout too (the first
// one's date already ends every login of that OP session: an OP never
// signs anyone in to a session it ended).
type retryKey struct {
	issuer, jti, sid, sub string
}

// keyOf is ev's key in the queue.
func keyOf(ev *LogoutEvent) retryKey {
	if iss, jti := ev.replayKey(); jti != "" {
		return retryKey{issuer: iss, jti: jti}
	}
	return retryKey{issuer: ev.Issuer, sid: ev.SessionID, sub: ev.Subject}
}

// tokenless reports whether k is the key of an event without a token.
func (k retryKey) tokenless() bool { return k.jti == "" }

// retryItem is one pending logout: the validated event and its schedule.
type retryItem struct {
	key      retryKey
	ev       *LogoutEvent
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
// pending logout at once. It holds validated logouts and runs them through
// the same logouts.logout as the request path.
type retryQueue struct {
	l       *logouts
	metrics metricsFunc
	p       retryPolicy
	jitter  func(n int64) int64 // in [0, n)

	mu      sync.Mutex
	items   map[retryKey]*retryItem
	heap    retryHeap
	closing bool
	// tokenless counts the pending logouts without a token. Anyone can
	// send a front-channel request, so they may take at most a quarter
	// of the queue: a flood of them during a store outage never crowds
	// out a logout token, whose sender mostly does not retry.
	tokenless int
	// pending is len(items), written under mu and read without it, so that
	// a logout that succeeded costs no lock when nothing is queued.
	pending atomic.Int64

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

func newRetryQueue(l *logouts, m metricsFunc, p retryPolicy, jitter func(int64) int64) *retryQueue {
	ctx, cancel := context.WithCancel(context.Background())
	if jitter == nil {
		jitter = rand.Int64N
	}
	q := &retryQueue{
		l: l, metrics: m, p: p, jitter: jitter,
		items: make(map[retryKey]*retryItem),
		wake:  make(chan struct{}, 1), abort: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	go q.run()
	return q
}

// checkRetryPolicy fills in the defaults and refuses what cannot work.
func checkRetryPolicy(p *retryPolicy) error {
	if p.keepFor < 0 {
		return configError("WithRetry: negative keepFor %v", p.keepFor)
	}
	if p.capacity < 0 || p.minBackoff < 0 || p.maxBackoff < 0 {
		return configError("retry queue settings must not be negative: %+v", *p)
	}
	if p.capacity == 0 {
		p.capacity = retryCapacity
	}
	if p.maxBackoff == 0 {
		p.maxBackoff = max(retryMaxBackoff, p.minBackoff)
	}
	if p.minBackoff == 0 {
		p.minBackoff = min(retryMinBackoff, p.maxBackoff)
	}
	if p.keepFor == 0 {
		p.keepFor = defaults.SessionLifetime
	}
	if p.minBackoff > p.maxBackoff {
		return configError("retry minimum backoff %v exceeds maximum backoff %v", p.minBackoff, p.maxBackoff)
	}
	return nil
}

// backoff is the jittered wait after failures failures: half to all of
// min(maxBackoff, minBackoff·2^(failures-1)).
func (q *retryQueue) backoff(failures int) time.Duration {
	b := q.p.minBackoff
	for i := 1; i < failures && b < q.p.maxBackoff; i++ {
		b *= 2
	}
	b = min(b, q.p.maxBackoff)
	half := b / 2
	return b - half + time.Duration(q.jitter(int64(half)+1))
}

// add queues a validated logout whose store work failed. A logout already
// pending is the same logout: the pending item runs it. Two logouts
// without a token of one OP session (two Sign outs, a login between
// them) are one item too, which keeps the later date: it revokes every
// login the earlier one would, and the one between them.
func (q *retryQueue) add(ev *LogoutEvent) {
	key := keyOf(ev)
	q.mu.Lock()
	if it, ok := q.items[key]; ok {
		if ev.IssuedAt.After(it.ev.IssuedAt) {
			it.ev = ev
			it.giveUp = time.Now().Add(q.p.keepFor)
		}
		q.mu.Unlock()
		return
	}
	if q.closing || len(q.items) >= q.p.capacity || (key.tokenless() && q.tokenless >= max(1, q.p.capacity/4)) {
		closing := q.closing
		q.mu.Unlock()
		if closing {
			// Queued and abandoned at once, so that pending stays
			// queued minus retried minus abandoned.
			q.report(ev, retryQueued, 0)
			q.abandon(ev, abandonClosed, 1)
			return
		}
		q.abandon(ev, abandonFull, 1)
		return
	}
	now := time.Now()
	it := &retryItem{key: key, ev: ev, giveUp: now.Add(q.p.keepFor), failures: 1}
	// wait, not it.due, goes to the log: once mu is released, the worker
	// or Close may reschedule it.
	wait := q.backoff(1)
	it.due = now.Add(wait)
	// Reported before the worker can see the item, so that its retry is
	// never counted before its queueing.
	q.report(ev, retryQueued, 0)
	q.items[key] = it
	q.pending.Store(int64(len(q.items)))
	if key.tokenless() {
		q.tokenless++
	}
	heap.Push(&q.heap, it)
	pending := len(q.items)
	q.mu.Unlock()
	q.signal()
	q.l.logger.Warn("bclogout: logout failed, queued for retry", "door", ev.Door, "issuer", ev.Issuer, "has_sid", ev.SessionID != "", "pending", pending, "retry_in", wait)
}

// forget drops a pending logout that its sender's own delivery completed,
// unless the pending one is later (add's merge) and so revokes more.
func (q *retryQueue) forget(ev *LogoutEvent) {
	q.mu.Lock()
	it, ok := q.items[keyOf(ev)]
	ok = ok && !it.ev.IssuedAt.After(ev.IssuedAt)
	if ok {
		q.remove(it)
	}
	q.mu.Unlock()
	if ok {
		q.report(it.ev, retryRetried, 0)
		q.l.logger.Debug("bclogout: pending logout completed by another delivery", "door", ev.Door, "issuer", ev.Issuer)
	}
}

// remove takes it out of the queue; q.mu is held.
func (q *retryQueue) remove(it *retryItem) {
	delete(q.items, it.key)
	q.pending.Store(int64(len(q.items)))
	if it.key.tokenless() {
		q.tokenless--
	}
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
		now := time.Now()
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
		// An item added from here on signals wake, so the wait below
		// cannot miss it. With nothing pending, wait is nil: only wake or
		// abort end it.
		var timer *time.Timer
		var wait <-chan time.Time
		if d > 0 {
			timer = time.NewTimer(d)
			wait = timer.C
		}
		select {
		case <-wait:
		case <-q.wake:
		case <-q.abort: // abandoned at the top of the loop
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// retry is one retry of ev, queued under key, under one deadline. A token
// already recorded was completed by another delivery: done, with nothing
// ended here (doneElsewhere). A replay cache that cannot tell does not stop
// the logout, which is safe to run again. It takes the item's key and
// event, not the item, whose event add may replace meanwhile.
func (q *retryQueue) retry(key retryKey, ev *LogoutEvent) (n int, doneElsewhere bool, err error) {
	timeout := q.l.timeout
	if timeout <= 0 {
		timeout = retryAttemptTimeout
	}
	ctx, cancel := context.WithTimeout(q.ctx, timeout)
	defer cancel()
	if key.jti != "" {
		if seen, err := q.l.replay.Seen(ctx, key.issuer, key.jti); err == nil && seen {
			return 0, true, nil
		}
	}
	n, err = q.l.logout(ctx, ev, false)
	return n, false, err
}

// attempt runs one retry of it and reschedules or finishes it.
func (q *retryQueue) attempt(it *retryItem) {
	// add may give the item a later logout meanwhile: read under mu.
	q.mu.Lock()
	ev := it.ev
	q.mu.Unlock()
	n, elsewhere, err := q.retry(it.key, ev)
	q.mu.Lock()
	if it.removed { // the OP's delivery completed it meanwhile
		q.mu.Unlock()
		return
	}
	if err == nil && it.ev != ev {
		// A later logout of the same OP session came during this
		// attempt: it revokes more, so it runs too, at once.
		it.due = time.Now()
		heap.Push(&q.heap, it)
		q.mu.Unlock()
		return
	}
	if err == nil {
		q.remove(it)
		q.mu.Unlock()
		q.report(it.ev, retryRetried, n)
		if elsewhere {
			q.l.logger.Info("bclogout: queued logout completed by another delivery of its token", "door", it.ev.Door, "issuer", it.ev.Issuer)
			return
		}
		q.l.logger.Info("bclogout: queued logout completed", "door", it.ev.Door, "issuer", it.ev.Issuer, "sessions_ended", n, "attempts", it.failures+1)
		q.l.completed(q.ctx, it.ev, n)
		return
	}
	now := time.Now()
	it.failures++
	if !now.Before(it.giveUp) {
		q.remove(it)
		q.mu.Unlock()
		q.abandon(it.ev, abandonExpired, it.failures)
		return
	}
	it.due = now.Add(q.backoff(it.failures))
	if it.due.After(it.giveUp) {
		it.due = it.giveUp
	}
	// Read under mu: once it is back in the heap, Close may reschedule it.
	wait := it.due.Sub(now)
	heap.Push(&q.heap, it)
	q.mu.Unlock()
	// Debug: the failure that queued the logout was logged at Error, the
	// pending gauge shows the queue, and a store that stays down would
	// otherwise log every pending logout at every backoff.
	q.l.logger.Debug("bclogout: retry of a queued logout failed", "door", ev.Door, "issuer", ev.Issuer, "failures", it.failures, "retry_in", wait, "error", err)
}

// report passes a retry queue event to WithMetrics' function; it may run
// in the queue's goroutine, where observe's recover is what keeps a
// panicking function from taking the process down.
func (q *retryQueue) report(ev *LogoutEvent, event string, sessionsEnded int) {
	observe(q.metrics, q.l.logger, ev.Door, ev.Issuer, event, sessionsEnded, 0)
}

// abandon reports a logout that will not be retried.
func (q *retryQueue) abandon(ev *LogoutEvent, reason string, failures int) {
	q.report(ev, reason, 0)
	q.l.logger.Error("bclogout: failed logout abandoned; its sessions may live on", "door", ev.Door, "issuer", ev.Issuer, "reason", reason,
		"has_sub", ev.Subject != "", "has_sid", ev.SessionID != "", "failures", failures)
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
		q.abandon(it.ev, abandonClosed, it.failures)
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
		now := time.Now()
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
