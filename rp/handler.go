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
	"time"

	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/sessionadapter"
)

// DefaultMaxBodyBytes caps a logout request body (SPEC-NOTES, the request).
const DefaultMaxBodyBytes = 64 << 10

// HandlerOption configures a Handler.
type HandlerOption func(*handlerOptions)

type handlerOptions struct {
	replay        replay.Cache
	maxBody       int64
	logger        *slog.Logger
	onLogout      func(ctx context.Context, e *LogoutEvent, sessionsEnded int)
	onReject      func(ctx context.Context, r *http.Request, err error)
	metrics       Metrics
	logoutTimeout time.Duration
	now           func() time.Time
	retry         *RetryPolicy
	retryClock    retryClock
	retryJitter   func(n int64) int64
}

// WithReplayCache sets the cache that refuses a token's second use
// (default: a bounded in-memory cache, right for a single instance; use a
// shared one such as Redis behind a load balancer).
func WithReplayCache(c replay.Cache) HandlerOption {
	return func(o *handlerOptions) { o.replay = c }
}

// WithMaxBodyBytes caps the request body (default 64 KiB). A larger body is
// answered 413 without being read.
func WithMaxBodyBytes(n int64) HandlerOption {
	return func(o *handlerOptions) { o.maxBody = n }
}

// WithLogger sets the logger (default slog.Default()). Rejections are
// logged at Warn with their reason code, failures of our own at Error,
// successes at Debug; a token is never logged.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(o *handlerOptions) { o.logger = l }
}

// WithOnLogout sets a hook called after a token's sessions were ended
// (sessionsEnded may be 0: the user was already logged out). Use it to
// revoke refresh tokens or to cascade the logout when the RP is itself an
// OP. It runs on the request path before the 200 is sent, or, for a
// logout that the retry queue (WithRetry) completed, in the queue's
// goroutine with a context that is no request's.
func WithOnLogout(f func(ctx context.Context, e *LogoutEvent, sessionsEnded int)) HandlerOption {
	return func(o *handlerOptions) { o.onLogout = f }
}

// WithOnReject sets a hook called for every request not answered 200, with
// the detailed error (errors.Is against the sentinels; Reason for a code).
func WithOnReject(f func(ctx context.Context, r *http.Request, err error)) HandlerOption {
	return func(o *handlerOptions) { o.onReject = f }
}

// WithMetrics sets the metrics receiver (default none).
func WithMetrics(m Metrics) HandlerOption {
	return func(o *handlerOptions) { o.metrics = m }
}

// WithLogoutTimeout sets one deadline, d from the start of the store work,
// for everything a request asks of the stores: reserving the jti in the
// replay cache, ending the sessions, then committing or releasing the jti.
// A client that retries internally (go-redis does) is cut off by it too, so
// a store that is down costs the OP at most d. Ending the sessions stops a
// fifth of d before the deadline, leaving that fifth to commit or release
// the jti. Without this option the request's context bounds the
// reservation and the session ending, and nothing bounds the commit or
// release.
func WithLogoutTimeout(d time.Duration) HandlerOption {
	return func(o *handlerOptions) { o.logoutTimeout = d }
}

// Handler is the back-channel logout endpoint (spec §2.5–§2.8): POST with a
// form-encoded logout_token; 200 once the token is valid, unused and its
// sessions ended (also when none matched); 400 with a JSON error otherwise.
type Handler struct {
	verifier TokenVerifier
	sessions sessionadapter.Ender
	o        handlerOptions
	retry    *retryQueue // nil without WithRetry
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a Handler that validates tokens with v and ends
// sessions with sessions.
func NewHandler(v TokenVerifier, sessions sessionadapter.Ender, opts ...HandlerOption) (*Handler, error) {
	if v == nil {
		return nil, configError("token verifier is required")
	}
	if sessions == nil {
		return nil, configError("session ender is required")
	}
	o := handlerOptions{maxBody: DefaultMaxBodyBytes, now: time.Now}
	for _, opt := range opts {
		if opt == nil {
			return nil, configError("nil option")
		}
		opt(&o)
	}
	if o.maxBody <= 0 {
		return nil, configError("max body bytes must be positive, got %d", o.maxBody)
	}
	if o.logoutTimeout < 0 {
		return nil, configError("logout timeout must not be negative, got %v", o.logoutTimeout)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.replay == nil {
		c, err := defaultReplayCache()
		if err != nil {
			return nil, err
		}
		o.replay = c
	}
	h := &Handler{verifier: v, sessions: sessions, o: o}
	if o.retry != nil {
		if err := checkRetryPolicy(o.retry); err != nil {
			return nil, err
		}
		if o.retryClock == nil {
			o.retryClock = realClock{}
		}
		h.retry = newRetryQueue(h, *o.retry, o.retryClock, o.retryJitter)
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
	return &requestError{status: status, err: fmt.Errorf("%w: "+format, append([]any{ErrRequest}, args...)...)}
}

// ServeHTTP answers one logout request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.o.now()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")

	raw, err := h.readToken(w, r)
	if err != nil {
		h.reject(w, r, "", err, start)
		return
	}
	ctx := r.Context()
	ev, err := h.verifier.Verify(ctx, raw)
	if err != nil {
		h.reject(w, r, configuredIssuer(err), err, start)
		return
	}
	// One deadline for every store call of this request: the reservation
	// and the session ending share the request's context; commit and
	// release must run even when the OP hung up, so only the deadline
	// carries over to them.
	var deadline time.Time
	if h.o.logoutTimeout > 0 {
		deadline = time.Now().Add(h.o.logoutTimeout)
	}
	storeCtx, cancel := withDeadline(ctx, deadline)
	defer cancel()
	finishCtx, cancelFinish := withDeadline(context.WithoutCancel(ctx), deadline)
	defer cancelFinish()
	claim, err := h.o.replay.Reserve(storeCtx, ev.Issuer, ev.JTI, ev.AcceptableUntil)
	if err != nil {
		switch {
		case errors.Is(err, replay.ErrReplayed):
			err = fmt.Errorf("%w: jti %q: %w", ErrReplay, clip(ev.JTI), err)
		case errors.Is(err, replay.ErrExpired):
			// Validation passed a moment ago, but the token's window closed
			// before it could be reserved.
			err = fmt.Errorf("%w: %w", ErrExpired, err)
		default:
			// The cache may have applied the claim and lost its reply. A
			// Reserve that could not undo it leaves it until the token
			// expires, refusing the OP's retries as replays; the retry
			// queue, handed the claim Reserve named, releases it and ends
			// the logout, so the logout is bounded by the queue's policy.
			if h.retry != nil {
				h.retry.add(ev, nil, claim, err)
			}
			err = fmt.Errorf("%w: replay cache: %w", ErrTemporary, err)
		}
		h.reject(w, r, ev.Issuer, err, start)
		return
	}
	endDeadline := deadline
	if !deadline.IsZero() {
		endDeadline = deadline.Add(-h.o.logoutTimeout / 5)
	}
	n, err := h.endSessions(storeCtx, endDeadline, ev.Logout())
	if err != nil {
		var held *replay.Reservation
		if rerr := h.o.replay.Release(finishCtx, claim); rerr != nil {
			// The claim guards the jti until the token expires: the OP's
			// retry is refused as a replay, and the retry queue, which
			// takes the claim along, is what ends the sessions.
			h.o.logger.ErrorContext(ctx, "bclogout: releasing jti failed; the OP's retry is refused until the token expires", "issuer", ev.Issuer, "error", rerr)
			held = &claim
		}
		if h.o.metrics != nil {
			h.o.metrics.LogoutFailed(ev.Issuer, h.o.now().Sub(start))
		}
		h.o.logger.ErrorContext(ctx, "bclogout: ending sessions failed", "issuer", ev.Issuer, "reason", "temporary", "error", err)
		if h.retry != nil {
			h.retry.add(ev, held, replay.Reservation{}, nil)
		}
		h.answerError(w, err)
		if h.o.onReject != nil {
			h.o.onReject(ctx, r, err)
		}
		return
	}
	// The sessions are ended: the logout succeeded and the OP hears 200
	// whatever Commit says, since a 400 would only make it retry a logout
	// that is done.
	switch err := h.o.replay.Commit(finishCtx, claim); {
	case err == nil:
	case errors.Is(err, replay.ErrReservationLost):
		// The cache lost this attempt's claim (failover, eviction) before
		// Commit: another attempt may have acted on the same token in the
		// meantime, so this one is not the token's only use. Commit
		// consumed the jti anyway. OnLogout still runs: ending the user's
		// downstream sessions twice is harmless, skipping it could leave
		// them signed in if the other attempt failed.
		h.o.logger.ErrorContext(ctx, "bclogout: replay reservation lost before commit; the token may have been acted on twice", "issuer", ev.Issuer, "reason", "reservation_lost", "error", err)
	default:
		// The reservation still guards the jti until the token expires.
		h.o.logger.ErrorContext(ctx, "bclogout: committing jti failed", "issuer", ev.Issuer, "error", err)
	}
	if h.retry != nil {
		h.retry.forget(ev.Issuer, ev.JTI)
	}
	if h.o.metrics != nil {
		h.o.metrics.TokenAccepted(ev.Issuer, n, h.o.now().Sub(start))
	}
	if h.o.logger.Enabled(ctx, slog.LevelDebug) {
		// Guarded: the arguments would be boxed even with Debug off.
		h.o.logger.DebugContext(ctx, "bclogout: logout token accepted", "issuer", ev.Issuer, "sessions_ended", n, "has_sid", ev.SessionID != "")
	}
	if h.o.onLogout != nil {
		h.o.onLogout(ctx, ev, n)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// withDeadline is context.WithDeadline, or ctx itself for a zero deadline.
func withDeadline(ctx context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, deadline)
}

// endSessions calls the Ender, bounded by deadline (none when zero), and
// turns its failure or panic into ErrTemporary so the OP retries.
func (h *Handler) endSessions(ctx context.Context, deadline time.Time, l sessionadapter.Logout) (n int, err error) {
	ctx, cancel := withDeadline(ctx, deadline)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("%w: session ender panicked: %v", ErrTemporary, p)
		}
	}()
	n, err = h.sessions.EndSessions(ctx, l)
	if err != nil {
		return 0, fmt.Errorf("%w: ending sessions: %w", ErrTemporary, err)
	}
	return n, nil
}

// readToken applies the request rules and returns the single logout_token
// of the form body; query string values never count.
func (h *Handler) readToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", badRequest(http.StatusMethodNotAllowed, "method %s", clip(r.Method))
	}
	if !isFormContentType(r.Header.Get("Content-Type")) {
		return "", badRequest(http.StatusBadRequest, "content type %q", clip(r.Header.Get("Content-Type")))
	}
	if r.ContentLength > h.o.maxBody {
		return "", badRequest(http.StatusRequestEntityTooLarge, "body of %d bytes exceeds %d", r.ContentLength, h.o.maxBody)
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, h.o.maxBody), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", badRequest(http.StatusRequestEntityTooLarge, "body exceeds %d bytes", h.o.maxBody)
		}
		return "", badRequest(http.StatusBadRequest, "reading body: %v", err)
	}
	return logoutToken(string(body))
}

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
		v, err := url.QueryUnescape(value)
		if err != nil {
			return "", badRequest(http.StatusBadRequest, "logout_token escape: %v", err)
		}
		token = v
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

// reject answers a rejected request and reports it.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, issuer string, err error, start time.Time) {
	reason := Reason(err)
	if h.o.metrics != nil {
		h.o.metrics.TokenRejected(issuer, reason, h.o.now().Sub(start))
	}
	level := slog.LevelWarn
	if errors.Is(err, ErrTemporary) {
		level = slog.LevelError
	}
	h.o.logger.Log(r.Context(), level, "bclogout: logout request rejected", "issuer", issuer, "reason", reason, "error", err)
	h.answerError(w, err)
	if h.o.onReject != nil {
		h.o.onReject(r.Context(), r, err)
	}
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
