package middleware

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
)

// defaultHeartbeat is how often a Notifier writes a comment on an idle
// stream, so that proxies that close quiet connections (often after 30 to
// 60 s) keep it open.
const defaultHeartbeat = 25 * time.Second

// defaultMaxStreams is how many streams a Notifier keeps open at once.
// Each costs a goroutine and a connection, and any signed-in user can open
// many, so a stream beyond the bound is answered 503: the page then misses
// the live notice, and the guard still ends the session at its next
// request.
const defaultMaxStreams = 10_000

// NotifierOption configures NewNotifier: WithLogger.
type NotifierOption interface {
	applyNotifier(*notifierConfig)
}

type notifierOption func(*notifierConfig)

func (f notifierOption) applyNotifier(c *notifierConfig) { f(c) }

type notifierConfig struct {
	heartbeat  time.Duration
	maxStreams int
	logger     *slog.Logger
}

// withMaxStreams bounds the streams open at once (tests).
func withMaxStreams(n int) NotifierOption {
	return notifierOption(func(c *notifierConfig) { c.maxStreams = n })
}

// withHeartbeat sets how often an idle stream gets a comment line (tests).
func withHeartbeat(d time.Duration) NotifierOption {
	return notifierOption(func(c *notifierConfig) { c.heartbeat = d })
}

// Notifier tells a page that is open when its session is logged out, at
// once, over server-sent events (the HTML EventSource API, standard
// library only): mount it on a path of the app, and have the page open
// an EventSource on it. When a revocation ends the request's session, the
// stream sends
//
//	event: logout
//	data: {}
//
// and ends; the page then shows itself signed out (the guard ends the
// session at the next request anyway). The stream learns the revocation
// as the Revocations do, whichever replica accepted the logout: the
// Revocations must implement sessionadapter.Watchable
// (sessionadapter.NewMemoryRevocations, redisadapter.Revocations).
//
// A request without a session gets 204 No Content, which tells an
// EventSource not to reconnect. Each open stream costs a goroutine and a
// check of its binding per revocation learnt. Close ends every stream (do
// it before http.Server.Shutdown, which waits for them).
type Notifier struct {
	rev    sessionadapter.Revocations
	watch  sessionadapter.Watchable
	lookup func(r *http.Request) (sessionadapter.Binding, bool)
	cfg    notifierConfig

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	streams int // open streams, under mu
}

var _ http.Handler = (*Notifier)(nil)

// NewNotifier returns a Notifier for the sessions lookup reads (the same
// function as the Guard's), checked against rev.
func NewNotifier(rev sessionadapter.Revocations, lookup func(r *http.Request) (sessionadapter.Binding, bool), opts ...NotifierOption) (*Notifier, error) {
	c := notifierConfig{heartbeat: defaultHeartbeat, maxStreams: defaultMaxStreams, logger: slog.Default()}
	for _, o := range opts {
		if o == nil {
			return nil, errs.Config("middleware", "nil option")
		}
		o.applyNotifier(&c)
	}
	watch, ok := rev.(sessionadapter.Watchable)
	switch {
	case rev == nil:
		return nil, errs.Config("middleware", "nil Revocations")
	case !ok:
		return nil, errs.Config("middleware", "%T does not implement sessionadapter.Watchable", rev)
	case lookup == nil:
		return nil, errs.Config("middleware", "nil lookup")
	case c.heartbeat <= 0:
		return nil, errs.Config("middleware", "heartbeat %v is not positive", c.heartbeat)
	case c.maxStreams <= 0:
		return nil, errs.Config("middleware", "max streams %d is not positive", c.maxStreams)
	case c.logger == nil:
		return nil, errs.Config("middleware", "nil logger")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{rev: rev, watch: watch, lookup: lookup, cfg: c, ctx: ctx, cancel: cancel}, nil
}

// Close ends every open stream and waits for their handlers to return;
// later requests get 503.
func (n *Notifier) Close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	return nil
}

// ServeHTTP streams the request's session's logout.
func (n *Notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	defer n.wg.Done()

	b, ok := n.lookup(r)
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	n.mu.Lock()
	full := n.streams >= n.cfg.maxStreams
	if !full {
		n.streams++
	}
	n.mu.Unlock()
	if full {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	defer func() {
		n.mu.Lock()
		n.streams--
		n.mu.Unlock()
	}()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, ": bclogout\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	ctx := r.Context()
	beat := time.NewTicker(n.cfg.heartbeat)
	defer beat.Stop()
	for {
		changed := n.watch.Changed() // before the check, so no revocation falls between
		revoked, err := n.rev.Revoked(ctx, b)
		if err != nil {
			// Unknown for now (a stale feed): keep the page as it is; the
			// guard fails closed on its next request anyway.
			n.cfg.logger.DebugContext(ctx, "middleware: notifier cannot check its session yet", slog.Any("error", err))
		}
		// A zero login time is a login the guard ends (see Guard): so
		// does the page.
		if revoked || b.LoginTime.IsZero() {
			_, _ = io.WriteString(w, "event: logout\ndata: {}\n\n")
			_ = rc.Flush()
			return
		}
		select {
		case <-changed:
		case <-beat.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-n.ctx.Done():
			return
		}
	}
}
