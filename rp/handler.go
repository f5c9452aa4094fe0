package rp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/mount"
	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/sessionadapter"
)

// maxBodyBytes caps a logout request body: a logout token is a few
// kilobytes, encrypted or not (Back-Channel Logout 1.0 §2.5). A larger
// body is answered 413 without being read.
const maxBodyBytes = 64 << 10

// HandlerOption configures a Handler.
type HandlerOption func(*handlerOptions)

type handlerOptions struct {
	replay        replay.Cache
	logger        *slog.Logger
	onLogout      func(ctx context.Context, e *LogoutEvent, sessionsEnded int)
	onReject      func(ctx context.Context, door string, r *http.Request, err error)
	metrics       metricsFunc
	logoutTimeout time.Duration
	path          string // WithPath
	now           func() time.Time
	retry         bool          // WithRetry
	retryFor      time.Duration // WithRetry's keepFor
	// Set by tests only (export_test.go).
	retryCapacity   int
	retryMinBackoff time.Duration
	retryMaxBackoff time.Duration
	retryJitter     func(n int64) int64
}

// WithPath sets the path of the client's registered backchannel_logout_uri,
// where Wrap serves the endpoint (default, and for "": "/backchannel-logout").
// NewHandler refuses any other path that is not a clean absolute path of
// A-Z a-z 0-9 - . _ ~ and single slashes, without a trailing slash: Wrap
// compares it with the request's path as written, so a router's pattern
// ("POST /x", "/x/{id}", "/x/") would be an endpoint no request reaches.
func WithPath(path string) HandlerOption {
	return func(o *handlerOptions) { o.path = path }
}

// WithReplayCache sets the cache that refuses a token's second use
// (default: a bounded in-memory cache, right for a single instance; use a
// shared one such as Redis behind a load balancer).
func WithReplayCache(c replay.Cache) HandlerOption {
	return func(o *handlerOptions) { o.replay = c }
}

// WithLogger sets the logger (default slog.Default()). Rejections are
// logged at Warn with their reason code, failures of our own at Error,
// successes at Debug; a token is never logged.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(o *handlerOptions) { o.logger = l }
}

// WithOnLogout sets a hook called after a token's sessions were ended
// (sessionsEnded may be 0: the user was already logged out); a SET only
// acknowledged names no session and calls no hook. Use it to
// revoke refresh tokens or to cascade the logout when the RP is itself an
// OP. It runs on the request path before the 200 is sent, or, for a
// logout that the retry queue (WithRetry) completed, in the queue's
// goroutine with a context that is no request's.
func WithOnLogout(f func(ctx context.Context, e *LogoutEvent, sessionsEnded int)) HandlerOption {
	return func(o *handlerOptions) { o.onLogout = f }
}

// WithOnReject sets a hook called for every request a door did not act on
// (for the Handler's own door, every request not answered 200), with the
// door (LogoutEvent.Door's values) and the detailed error: errors.Is
// against the sentinels tells its class, and its text names the rule. A
// logout whose store work failed is reported too (ErrTemporary), with the
// request that brought it. A panic in it is logged, never fatal.
func WithOnReject(f func(ctx context.Context, door string, r *http.Request, err error)) HandlerOption {
	return func(o *handlerOptions) { o.onReject = f }
}

// metricsFunc is the function WithMetrics takes.
type metricsFunc = func(door, issuer, outcome string, sessionsEnded int, elapsed time.Duration)

// WithMetrics sets the function that receives one observation per request
// and per change of the retry queue (default none), such as
// prommetrics.Metrics.Observe. It is called on the request path, so it
// must be fast and safe for concurrent use.
//
// door is the door the logout or the request came through (LogoutEvent's
// Door). issuer is a configured issuer, or "" when the request was
// rejected before one could be selected: never unverified input, so it is
// safe as a metric label. elapsed is the time the request took to answer
// at the Handler's own door; at another door, the time End took (zero for
// Reject). outcome is one of:
//   - "accepted": a valid token whose logout is done; it ended
//     sessionsEnded sessions (0 is a success too: already logged out);
//   - "failed": a valid token whose logout failed (a store was down); the
//     OP was told to retry, and WithRetry's queue retries it too;
//   - for a request answered 400, 405 or 413, its class: "request"
//     (method, content type, size or form), "malformed", "signature",
//     "encryption", "issuer", "audience", "time", "claims", "replay" or
//     "temporary" (the keys could not be fetched);
//   - with WithRetry, the retry queue's events, elapsed zero: "queued" (a
//     failed logout now pending), "retried" (a pending logout completed:
//     by the queue, which ended sessionsEnded sessions, or by another
//     delivery of its token, 0), "abandoned_expired" (retried for
//     WithRetry's keepFor in vain), "abandoned_closed" (pending when Close
//     gave up, or failed after Close began), "abandoned_full" (the queue
//     was at capacity: it was never pending). Pending logouts are those
//     queued and neither retried nor abandoned since.
func WithMetrics(f func(door, issuer, outcome string, sessionsEnded int, elapsed time.Duration)) HandlerOption {
	return func(o *handlerOptions) { o.metrics = f }
}

// WithLogoutTimeout bounds the store work of a request: the replay check
// and ending the sessions share one deadline, d from the start of that
// work, and recording the completed token afterwards gets a deadline of
// its own, d again, since it must run even when the OP has hung up. A
// client that retries internally (go-redis does) is cut off by them too,
// so a store that is down costs the OP at most d before its answer, and
// the request at most 2d in all. Without this option the request's
// context bounds the check and the ending, and nothing bounds the record.
func WithLogoutTimeout(d time.Duration) HandlerOption {
	return func(o *handlerOptions) { o.logoutTimeout = d }
}

// Handler is the back-channel logout endpoint (spec §2.5–§2.8): POST with a
// form-encoded logout_token; 200 once the token is valid, unused and its
// sessions ended (also when none matched); 400 with a JSON error otherwise.
type Handler struct {
	verifier *Verifier
	o        handlerOptions
	l        *logouts
	retry    *retryQueue // nil without WithRetry
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a Handler that validates tokens with v (Join's for
// several OPs) and ends sessions with sessions.
func NewHandler(v *Verifier, sessions sessionadapter.Ender, opts ...HandlerOption) (*Handler, error) {
	if v == nil {
		return nil, configError("verifier is required")
	}
	if sessions == nil {
		return nil, configError("session ender is required")
	}
	o := handlerOptions{now: time.Now}
	for _, opt := range opts {
		if opt == nil {
			return nil, configError("nil option")
		}
		opt(&o)
	}
	if o.logoutTimeout < 0 {
		return nil, configError("logout timeout must not be negative, got %v", o.logoutTimeout)
	}
	if o.path == "" {
		o.path = defaults.BackChannelPath
	}
	if err := mount.CheckPath("path", o.path); err != nil {
		return nil, configError("%v", err)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.replay == nil {
		// Bounded and in-process, right for a single replica.
		o.replay = replay.NewMemory(0)
	}
	h := &Handler{verifier: v, o: o, l: &logouts{
		sessions: sessions, replay: o.replay, timeout: o.logoutTimeout, logger: o.logger,
		onLogout: o.onLogout, onReject: o.onReject,
	}}
	if o.retry {
		p := retryPolicy{keepFor: o.retryFor, maxBackoff: o.retryMaxBackoff, minBackoff: o.retryMinBackoff, capacity: o.retryCapacity}
		if err := checkRetryPolicy(&p); err != nil {
			return nil, err
		}
		h.retry = newRetryQueue(h.l, o.metrics, p, o.retryJitter)
	}
	return h, nil
}

// requestError is an HTTP-level rejection with its status.
type requestError struct {
	status int
	err    error
}

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

func badRequest(status int, format string, args ...any) error {
	return &requestError{status: status, err: fmt.Errorf("%w: "+format, append([]any{rejection.Request}, args...)...)}
}

// doorBackchannel is the Handler's own door: logout tokens (Back-Channel
// Logout 1.0 §2.5).
const doorBackchannel = "backchannel"

// Wrap serves the endpoint at its path (WithPath) ahead of next, which
// gets every other request as it came (nil: 404): a request is the
// endpoint's when its path, unescaped (r.URL.Path), is that path, whatever
// its method (the endpoint answers 405 to all but POST). Wrap it around
// what the server serves, outside session loading, CSRF checks and sign-in
// redirects, which the OP's request, carrying no cookie and no CSRF token,
// must not meet. Unlike an http.ServeMux in front, it neither cleans nor
// redirects the app's paths nor sets the request's Pattern. ServeHTTP
// serves the endpoint wherever it is mounted instead.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	path := h.o.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP answers one logout request: validate the token, then run it
// through the pipeline (End's steps), and answer 200.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The start only times the request for WithMetrics: without it the
	// clock is not read (since is zero for a zero start).
	var start time.Time
	if h.o.metrics != nil {
		start = h.o.now()
	}
	// One array backs the two answer headers, set by their canonical
	// names: Header.Set would canonicalize each name and allocate each
	// value's slice. Capacity 1 each, so an Add by a wrapper copies.
	// Cache-Control: no-store is what §2.8 asks; the OP reads no other
	// header (Pragma, for HTTP/1.0 caches, has no place between servers).
	hv := &[2]string{"no-store", "0"}
	header := w.Header()
	header["Cache-Control"] = hv[0:1:1]

	raw, err := h.readToken(w, r)
	if err != nil {
		h.reject(r, doorBackchannel, "", err, start)
		h.answerError(w, err)
		return
	}
	ev, err := h.verifier.Verify(r.Context(), raw)
	if err != nil {
		h.reject(r, doorBackchannel, configuredIssuer(err), err, start)
		h.answerError(w, err)
		return
	}
	if _, err := h.run(r, ev, start); err != nil {
		h.answerError(w, err)
		return
	}
	header["Content-Length"] = hv[1:2:2]
	w.WriteHeader(http.StatusOK)
}

// End runs a logout that came through another door than the Handler's
// own (a front-channel request, the app's Sign out, a Security Event
// Token) through the same pipeline as a logout token: refuse a token
// whose (iss, jti) already completed a logout (ErrReplay), date an event
// that has no OP date (IssuedAt zero) by the one clock rule LogoutEvent
// describes, revoke and end its sessions (revocation first), record its
// jti, then report it (metrics and logs by its door, OnLogout). A token
// that names no session (a SET acknowledged only, SecurityEvent.Logout
// with neither sub nor sid) is replay-checked and recorded, so that it is
// accepted once, and ends nothing: it is counted, but is no logout for
// OnLogout. When the store work fails, End returns
// an error wrapping ErrTemporary, and the door answers so that its sender
// may retry: a front-channel or Sign out logout is also queued for retry
// (WithRetry) as a logout token's is, while a SET is left to its
// transmitter, which delivers it again on 503 (RFC 8935 §4): a queued
// retry would record its jti and refuse that redelivery as a replay, so
// the transmitter would take the event as rejected. Every refusal is
// reported as Reject reports one. r is the request that brought the
// event; its context bounds the work.
func (h *Handler) End(r *http.Request, ev *LogoutEvent) (sessionsEnded int, err error) {
	start := h.o.now()
	if ev == nil || ev.Door == "" || ev.Issuer == "" || (!ev.namesSession() && ev.acceptableUntil.IsZero()) {
		err := fmt.Errorf("%w: logout event names no door, no issuer, or neither sub nor sid", ErrClaims)
		h.reject(r, doorOf(ev), "", err, start)
		return 0, err
	}
	if ev.IssuedAt.IsZero() {
		dated := *ev
		dated.IssuedAt = defaults.OPDate(start)
		ev = &dated
	}
	return h.run(r, ev, start)
}

// Reject reports a request that another door refused before it had an
// event to hand to End: it is logged (at Warn, or Error for
// ErrTemporary), counted by its class and door, and passed to OnReject, as
// the Handler's own rejections are. The door writes its own answer.
func (h *Handler) Reject(r *http.Request, door string, err error) {
	h.reject(r, door, "", err, time.Time{})
}

func doorOf(ev *LogoutEvent) string {
	if ev == nil {
		return ""
	}
	return ev.Door
}

// run is the pipeline every door's validated logout takes: replay check,
// revoke and end, record, report; a failure is reported and queued.
func (h *Handler) run(r *http.Request, ev *LogoutEvent, start time.Time) (int, error) {
	ctx := r.Context()
	storeCtx, cancel := h.l.storeContext(ctx)
	defer cancel()
	iss, jti := ev.replayKey()
	var err error
	if jti != "" {
		var seen bool
		switch seen, err = h.l.replay.Seen(storeCtx, iss, jti); {
		case err != nil:
			err = fmt.Errorf("%w: replay cache: %w", ErrTemporary, err)
		case seen:
			err = fmt.Errorf("%w: jti %q", ErrReplay, clip(jti))
			h.reject(r, ev.Door, ev.Issuer, err, start)
			return 0, err
		}
	}
	if err == nil {
		var n int
		if n, err = h.l.logout(storeCtx, ev, true); err == nil {
			if h.retry != nil && h.retry.pending.Load() > 0 {
				// This delivery did what a pending retry of it would.
				h.retry.forget(ev)
			}
			h.observe(ev.Door, ev.Issuer, outcomeAccepted, n, h.since(start))
			if h.l.logger.Enabled(ctx, slog.LevelDebug) {
				// Guarded: the arguments would be boxed even with Debug off.
				h.l.logger.DebugContext(ctx, "bclogout: logout accepted", "door", ev.Door, "issuer", ev.Issuer, "sessions_ended", n, "has_sid", ev.SessionID != "")
			}
			h.l.completed(ctx, ev, n)
			return n, nil
		}
	}
	// The store failed: nothing was recorded, so nothing needs undoing.
	// The sender may retry; the retry queue, if any, does too, unless the
	// sender's redelivery is the retry (a SET).
	h.observe(ev.Door, ev.Issuer, outcomeFailed, 0, h.since(start))
	h.l.logger.ErrorContext(ctx, "bclogout: logout failed", "door", ev.Door, "issuer", ev.Issuer, "reason", "temporary", "error", err)
	if h.retry != nil && !ev.senderRetries {
		h.retry.add(ev)
	}
	h.l.rejected(ctx, ev.Door, r, err)
	return 0, err
}

// since is the time from start, or zero for no start or no WithMetrics,
// the only reader of it.
func (h *Handler) since(start time.Time) time.Duration {
	if start.IsZero() || h.o.metrics == nil {
		return 0
	}
	return h.o.now().Sub(start)
}

// observe passes one observation to WithMetrics' function. A panic of
// the function is logged, as a hook's is: it must not skip what follows
// (OnLogout, the answer) once the logout is done.
func (h *Handler) observe(door, issuer, outcome string, sessionsEnded int, elapsed time.Duration) {
	observe(h.o.metrics, h.l.logger, door, issuer, outcome, sessionsEnded, elapsed)
}

// observe is the one call of a metrics function, on the request path and
// in the retry queue alike: its panic is logged, never fatal.
func observe(m metricsFunc, logger *slog.Logger, door, issuer, outcome string, sessionsEnded int, elapsed time.Duration) {
	if m == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			logger.Error("bclogout: the metrics function panicked", "door", door, "issuer", issuer, "outcome", outcome, "panic", fmt.Sprint(p))
		}
	}()
	m(door, issuer, outcome, sessionsEnded, elapsed)
}

// logouts performs logouts: the one function that ends a validated
// token's sessions and records it, for the request path and the retry
// queue alike, and the hooks that follow.
type logouts struct {
	sessions sessionadapter.Ender
	replay   replay.Cache
	timeout  time.Duration
	logger   *slog.Logger
	onLogout func(ctx context.Context, e *LogoutEvent, sessionsEnded int)
	onReject func(ctx context.Context, door string, r *http.Request, err error)
}

// storeContext bounds the store work of one logout by the logout timeout,
// when one is set.
func (l *logouts) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if l.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, l.timeout)
}

// logout ends the sessions ev names, then records ev's (iss, jti) as
// completed. Ending is idempotent (the Ender revokes as of the token's iat
// first, then deletes), so running it again after a failure, or twice for
// two deliveries that arrive together, ends nothing more. A failure to
// record leaves a completed logout that a replay would run once more,
// harmlessly: it is logged, not returned.
//
// detach is for the request path: the record outlives the OP hanging up.
// The retry queue records under its attempt's own context instead, whose
// deadline bounds the whole retry and which Close cancels.
func (l *logouts) logout(ctx context.Context, ev *LogoutEvent, detach bool) (n int, err error) {
	if ev.namesSession() {
		if n, err = l.end(ctx, ev.Logout); err != nil {
			return 0, err
		}
	}
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if detach {
		// Record even when the OP hung up: the sessions are ended.
		rctx, cancel = l.storeContext(context.WithoutCancel(ctx))
	}
	defer cancel()
	if iss, jti := ev.replayKey(); jti != "" {
		if err := l.replay.Record(rctx, iss, jti, ev.acceptableUntil); err != nil {
			l.logger.ErrorContext(ctx, "bclogout: recording a completed logout failed; a replay of its token would run it again", "door", ev.Door, "issuer", ev.Issuer, "error", err)
		}
	}
	return n, nil
}

// end calls the Ender and turns its failure or panic into ErrTemporary.
func (l *logouts) end(ctx context.Context, lo sessionadapter.Logout) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("%w: session ender panicked: %v", ErrTemporary, p)
		}
	}()
	n, err = l.sessions.EndSessions(ctx, lo)
	if err != nil {
		return 0, fmt.Errorf("%w: ending sessions: %w", ErrTemporary, err)
	}
	return n, nil
}

// completed runs OnLogout; a panic in it is logged, never allowed to take
// the process down or to undo the logout, which is done. An event that
// names no session (a SET only acknowledged) is no logout, and OnLogout's
// callers act on the sessions named: it calls no hook.
func (l *logouts) completed(ctx context.Context, ev *LogoutEvent, n int) {
	if l.onLogout == nil || !ev.namesSession() {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			l.logger.ErrorContext(ctx, "bclogout: OnLogout panicked", "door", ev.Door, "issuer", ev.Issuer, "panic", fmt.Sprint(p))
		}
	}()
	l.onLogout(ctx, ev, n)
}

// rejected runs OnReject, recovering a panic as completed does.
func (l *logouts) rejected(ctx context.Context, door string, r *http.Request, err error) {
	if l.onReject == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			l.logger.ErrorContext(ctx, "bclogout: OnReject panicked", "door", door, "panic", fmt.Sprint(p))
		}
	}()
	l.onReject(ctx, door, r, err)
}

// Outcomes of a request that are no rejection class, for WithMetrics.
const (
	outcomeAccepted = "accepted"
	outcomeFailed   = "failed"
)

// readToken applies the request rules and returns the single logout_token
// of the form body; query string values never count.
func (h *Handler) readToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", badRequest(http.StatusMethodNotAllowed, "method %s", clip(r.Method))
	}
	if !isFormContentType(r.Header.Get("Content-Type")) {
		return "", badRequest(http.StatusBadRequest, "content type %q", clip(r.Header.Get("Content-Type")))
	}
	if r.ContentLength > maxBodyBytes {
		return "", badRequest(http.StatusRequestEntityTooLarge, "body of %d bytes exceeds %d", r.ContentLength, maxBodyBytes)
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, maxBodyBytes), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", badRequest(http.StatusRequestEntityTooLarge, "body exceeds %d bytes", maxBodyBytes)
		}
		return "", badRequest(http.StatusBadRequest, "reading body: %v", err)
	}
	// The form is read in place: body is never written again, and only
	// a token that is most of it keeps it (below).
	form := unsafe.String(unsafe.SliceData(body), len(body))
	if hook := formHook.Load(); hook != nil {
		(*hook)(form)
	}
	token, err := logoutToken(form)
	return ownToken(token, body), err
}

// ownToken returns token, which lies in body, as the token a verification
// keeps. It may keep body's bytes: body is the request's own buffer, never
// written again, and an OP's body is little more than the token
// ("logout_token=" and the token), so sharing it spares a copy of every
// token. One that is under half of body's buffer is cloned, so that the
// token a verification waits with (for a JWKS fetch, say) does not hold a
// body of other parameters, or a buffer io.ReadAll grew past the body,
// alive: a waiting request holds at most twice its token.
func ownToken(token string, body []byte) string {
	if 2*len(token) < cap(body) {
		return strings.Clone(token)
	}
	return token
}

// formHook, when set, sees every request body as read; a test watches it
// being released.
var formHook atomic.Pointer[func(form string)]

// logoutToken returns the single logout_token value of a form body.
// Spec §2.5 says parameters other than logout_token MUST be ignored, so
// only the logout_token pairs are unescaped: a malformed escape (or a
// semicolon) elsewhere, which url.ParseQuery would refuse for the whole
// body, cannot turn a valid logout into a 400. A name is unescaped only
// when it holds an escape, so logout%5Ftoken still counts as the same
// parameter, as it does for url.ParseQuery. Zero or two values, or a
// malformed escape in a logout_token value, are request errors.
func logoutToken(body string) (string, error) {
	var token string
	count := 0
	for rest := body; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		name, value, _ := strings.Cut(pair, "=")
		if !isLogoutTokenName(name) {
			continue
		}
		count++
		if count > 1 {
			continue // counted for the error below, never unescaped
		}
		token = value
		// A JWS or JWE is base64url and dots, which need no escape, so
		// the value is nearly always plain: two byte searches skip
		// url.QueryUnescape's byte-by-byte scan, which would return it
		// unchanged.
		if strings.IndexByte(value, '%') >= 0 || strings.IndexByte(value, '+') >= 0 {
			v, err := url.QueryUnescape(value)
			if err != nil {
				return "", badRequest(http.StatusBadRequest, "logout_token escape: %v", err)
			}
			token = v
		}
	}
	switch count {
	case 0:
		return "", badRequest(http.StatusBadRequest, "no logout_token")
	case 1:
		return token, nil
	default:
		return "", badRequest(http.StatusBadRequest, "%d logout_token values", count)
	}
}

// isLogoutTokenName reports whether a raw form name is logout_token,
// spelled plainly (the fast path every OP takes) or escaped. A name whose
// escape is malformed is some other parameter, ignored.
func isLogoutTokenName(raw string) bool {
	if raw == "logout_token" {
		return true
	}
	if !strings.ContainsAny(raw, "%+") || len(raw) < len("logout_token") {
		return false
	}
	name, err := url.QueryUnescape(raw)
	return err == nil && name == "logout_token"
}

// formContentType is what OPs send; any other spelling goes through
// mime.ParseMediaType.
const formContentType = "application/x-www-form-urlencoded"

// isFormContentType reports whether the Content-Type header names an
// application/x-www-form-urlencoded body, parameters (charset) allowed.
// The plain value, which nearly every OP sends, is recognized without
// mime.ParseMediaType, which builds a parameter map per call.
func isFormContentType(header string) bool {
	if strings.EqualFold(header, formContentType) {
		return true
	}
	ct, _, err := mime.ParseMediaType(header)
	return err == nil && ct == formContentType
}

// readBody reads all of body into one buffer sized from the request's
// Content-Length (already checked against the cap, which body enforces),
// rather than growing one from 512 bytes as io.ReadAll does.
func readBody(body io.Reader, contentLength int64) ([]byte, error) {
	if contentLength <= 0 {
		return io.ReadAll(body)
	}
	// One byte more than announced, so that reading the end of a body
	// that keeps its word needs no second buffer.
	buf := make([]byte, 0, contentLength+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// reject reports a rejected request: log, metrics, OnReject. The door
// answers it.
func (h *Handler) reject(r *http.Request, door, issuer string, err error, start time.Time) {
	reason := rejection.Reason(err)
	h.observe(door, issuer, reason, 0, h.since(start))
	level := slog.LevelWarn
	if errors.Is(err, ErrTemporary) {
		level = slog.LevelError
	}
	h.l.logger.Log(r.Context(), level, "bclogout: logout request rejected", "door", door, "issuer", issuer, "reason", reason, "error", err)
	h.l.rejected(r.Context(), door, r, err)
}

// answerError writes the generic JSON error of spec §2.8; the detail stays
// in logs and hooks.
func (h *Handler) answerError(w http.ResponseWriter, err error) {
	status, code, desc := http.StatusBadRequest, "invalid_request", "invalid logout token"
	var re *requestError
	switch {
	case errors.As(err, &re):
		status, desc = re.status, "invalid logout request"
		switch re.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", http.MethodPost)
			desc = "method not allowed"
		case http.StatusRequestEntityTooLarge:
			desc = "request body too large"
		}
	case errors.Is(err, ErrReplay):
		desc = "logout token already used"
	case errors.Is(err, ErrTemporary):
		code, desc = "temporarily_unavailable", "logout temporarily failed, retry"
	}
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, desc})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
