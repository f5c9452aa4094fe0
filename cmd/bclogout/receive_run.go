package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bclogout/bclogout/internal/mount"
	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// receiveRecord is one line of receive's output.
type receiveRecord struct {
	Time          time.Time `json:"time"`    // UTC
	Outcome       string    `json:"outcome"` // "accepted" or "rejected"
	Status        int       `json:"status"`
	Issuer        string    `json:"iss,omitempty"`
	Subject       string    `json:"sub,omitempty"`
	SessionID     string    `json:"sid,omitempty"`
	JTI           string    `json:"jti,omitempty"`
	SessionsEnded *int      `json:"sessions_ended,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	Detail        string    `json:"detail,omitempty"`
}

// appendRecord appends rec as the JSON line json.Marshal would print for it,
// fields in the same order and with the same omissions, without
// reflection: the line is written for every request.
func appendRecord(b []byte, rec *receiveRecord) []byte {
	b = append(b, `{"time":"`...) // time.Time's MarshalJSON, in a year of four digits
	b = append(rec.Time.AppendFormat(b, time.RFC3339Nano), '"')
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, rec.Outcome)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(rec.Status), 10)
	for _, f := range [...]struct{ key, val string }{
		{`,"iss":`, rec.Issuer}, {`,"sub":`, rec.Subject}, {`,"sid":`, rec.SessionID}, {`,"jti":`, rec.JTI},
	} {
		if f.val != "" {
			b = append(b, f.key...)
			b = appendJSONString(b, f.val)
		}
	}
	if rec.SessionsEnded != nil {
		b = append(b, `,"sessions_ended":`...)
		b = strconv.AppendInt(b, int64(*rec.SessionsEnded), 10)
	}
	if rec.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, rec.Reason)
	}
	if rec.Detail != "" {
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, rec.Detail)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s quoted as encoding/json quotes it. Claims
// come from the token and may hold anything; only printable ASCII that
// json.Marshal leaves as it is takes the short way, everything else
// (escapes, HTML characters, invalid UTF-8, U+2028) is left to
// encoding/json itself, so the two can never disagree, and then to
// escapeControls for the controls encoding/json leaves raw.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, escapeControls(string(q))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// escapeControls writes each control character of s but the newline as a
// \u00XX escape, as JSON spells it, and invalid UTF-8 as U+FFFD.
// encoding/json escapes only the controls below U+0020, and leaves DEL and
// the C1 controls (U+0080-U+009F) raw, which a terminal obeys: U+009B
// starts a CSI sequence as ESC [ does. A token's claims, unverified ones in
// rejection details too, are the sender's, and what receive and verify
// print goes to a terminal.
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) || r == utf8.RuneError }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r != '\n' && unicode.IsControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lineWriter prints the lines of concurrent requests, whole and in the
// order they were queued, without a goroutine of its own: a request
// queues its line, and if nobody is writing it writes every queued line,
// one write(2) per batch, until the queue is empty; otherwise it goes on.
// Under load that is one write for many lines, and no line is held back
// for company or waits for a goroutine to wake.
type lineWriter struct {
	w   io.Writer
	max int // maxQueued; smaller in tests

	mu      sync.Mutex
	taken   sync.Cond // broadcast each time the writer takes the queue
	queue   []byte
	spare   []byte // the writer's last batch, written: the next queue
	writing bool   // a request is writing; it drains the queue before it stops
}

// maxQueued bounds the lines waiting for a slow stdout: past it, a request
// waits for the write, as it did when each request wrote its own line.
const maxQueued = 1 << 20

func newLineWriter(w io.Writer) *lineWriter {
	l := &lineWriter{w: w, max: maxQueued}
	l.taken.L = &l.mu
	return l
}

// write prints line, which ends in a newline, or queues it for the
// request that is writing. It waits for stdout only when it writes, or
// when the queue is full: its caller has sent the OP's answer first.
func (l *lineWriter) write(line []byte) {
	l.mu.Lock()
	for len(l.queue) >= l.max {
		l.taken.Wait()
	}
	l.queue = append(l.queue, line...)
	if l.writing {
		l.mu.Unlock()
		return
	}
	l.writing = true
	for len(l.queue) > 0 {
		batch := l.queue
		l.queue = l.spare[:0]
		l.taken.Broadcast()
		l.mu.Unlock()
		_, _ = l.w.Write(batch)
		l.mu.Lock()
		l.spare = batch
	}
	l.writing = false
	l.mu.Unlock()
}

// unprinted reports whether lines are queued or being written: after a
// shutdown that gave up, the lines stdout did not take.
func (l *lineWriter) unprinted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writing || len(l.queue) > 0
}

// receiveConn is what receive knows of the request a connection is
// serving: its line and its status. Over HTTP/1.x a connection serves its
// requests one at a time, so each connection gets one receiveConn, placed
// in its context by the server's ConnContext, and a request reaches it
// without copying itself into a new context.
type receiveConn struct {
	http.ResponseWriter // the request's, while it is served
	rec                 receiveRecord
	status              int
}

// WriteHeader remembers the status the handler answered with.
func (c *receiveConn) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

type connKey struct{}

// withReceiveConn is the server's ConnContext.
func withReceiveConn(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, new(receiveConn))
}

func recordOf(ctx context.Context) *receiveRecord {
	if c, ok := ctx.Value(connKey{}).(*receiveConn); ok {
		return &c.rec
	}
	return nil
}

// recordingHandler prints one line per request: the rp.Handler's hooks fill
// in the record of the request's connection, and the status comes from the
// response. The hooks go to rp.NewHandler, the wrapper around the Handler
// it returns; the server must serve with withReceiveConn as ConnContext.
func recordingHandler(out *lineWriter, now func() time.Time) ([]rp.HandlerOption, func(http.Handler) http.Handler) {
	hooks := []rp.HandlerOption{
		rp.WithOnLogout(func(ctx context.Context, e *rp.LogoutEvent, n int) {
			if rec := recordOf(ctx); rec != nil {
				rec.Outcome = "accepted"
				rec.Issuer, rec.Subject, rec.SessionID, rec.JTI = e.Issuer, e.Subject, e.SessionID, e.JTI
				rec.SessionsEnded = &n
			}
		}),
		rp.WithOnReject(func(ctx context.Context, _ string, _ *http.Request, err error) {
			if rec := recordOf(ctx); rec != nil {
				rec.Outcome = "rejected"
				rec.Reason = rejection.Reason(err)
				rec.Detail = err.Error()
			}
		}),
	}
	// The buffers requests encode their line in.
	linePool := sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := r.Context().Value(connKey{}).(*receiveConn)
			if c == nil || r.ProtoMajor != 1 {
				// Not one request at a time on this connection: a
				// receiveConn of its own.
				c = new(receiveConn)
				r = r.WithContext(context.WithValue(r.Context(), connKey{}, c))
			}
			*c = receiveConn{ResponseWriter: w}
			h.ServeHTTP(c, r)
			rec := &c.rec
			rec.Time = now().UTC()
			rec.Status = c.status
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			if rec.Outcome == "" {
				rec.Outcome = "rejected"
			}
			bp := linePool.Get().(*[]byte)
			*bp = appendRecord((*bp)[:0], rec)
			c.ResponseWriter = nil // not kept past the request
			// The OP has its answer before the line can wait: a slow
			// reader of stdout (a paused terminal, a full pipe) delays
			// the output, never the deliveries, and an answer that
			// cannot be sent (an OP that does not read, until the
			// server's WriteTimeout) holds back no other request's
			// line. The flush is the write(2) the server would make
			// once the handler returned, made sooner.
			_ = http.NewResponseController(w).Flush()
			out.write(*bp)
			linePool.Put(bp)
		})
	}
	return hooks, wrap
}

func runReceive(ctx context.Context, s streams, vf verifierFlags, addr, path string, args []string) int {
	if len(args) > 0 {
		return usageError(s, "receive", "unexpected argument %q", args[0])
	}
	if err := vf.check(); err != nil {
		return usageError(s, "receive", "%v", err)
	}
	if err := mount.CheckPath("--path", path); err != nil {
		return usageError(s, "receive", "%v", err)
	}
	logger := slog.New(slog.NewTextHandler(s.stderr, nil))
	v, closeKeys, err := vf.build(ctx, logger)
	if err != nil {
		return failure(s, "receive", err)
	}
	defer closeKeys()
	// The receiver has no sessions of its own: an empty store ends none, so
	// every accepted token reports 0, as an RP reports an already ended
	// session (§2.7).
	store, err := sessionadapter.NewMemory(sessionadapter.WithLogger(logger))
	if err != nil {
		return failure(s, "receive", err)
	}
	out := newLineWriter(s.stdout)
	hooks, wrap := recordingHandler(out, time.Now)
	h, err := rp.NewHandler(v, store, append(hooks, rp.WithLogger(logger))...)
	if err != nil {
		return failure(s, "receive", err)
	}
	mux := http.NewServeMux()
	endpoint := wrap(h)
	// --path is the user's: mount.With checks it, where ServeMux would
	// panic or route a whole subtree.
	if err := mount.With(mux.Handle, path, endpoint); err != nil {
		return failure(s, "receive", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return failure(s, "receive", err)
	}
	fmt.Fprintf(s.stderr, "bclogout receive: listening on http://%s%s for logout tokens from %s to %s\n", ln.Addr(), path, vf.issuer, vf.clientID)
	// The requests print their own lines: once the server has shut down,
	// every line is printed (a request blocked on stdout holds the
	// shutdown, for its few seconds at most).
	if err := serveWith(ctx, ln, exactPath(path, endpoint, mux), logger, receiveLimits, withReceiveConn); err != nil {
		if out.unprinted() {
			err = fmt.Errorf("lines not printed, stdout not being read: %w", err)
		}
		return failure(s, "receive", err)
	}
	return exitOK
}

// exactPath serves a request for path, spelled as an OP sends it, with h,
// and every other request with mux, where h is mounted at path. A path
// mount.CheckPath accepts is clean and needs no escape, so such a request
// is one ServeMux would hand to h unchanged: it skips the router's
// matching, on the one request receive serves under load. Any other
// spelling (escaped, unclean, CONNECT's) and any other path go through
// mux, which redirects or refuses them as before.
func exactPath(path string, h, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path && r.URL.RawPath == "" && r.Method != http.MethodConnect {
			h.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serverLimits bound what one connection may hold of the receiver: the
// whole request (a logout body is at most 64 KiB), writing the answer, and
// an idle keep-alive connection.
type serverLimits struct {
	read, write, idle time.Duration
}

// maxHeaderBytes caps request headers: an OP's delivery sends a few
// hundred bytes of them.
const maxHeaderBytes = 64 << 10

var receiveLimits = serverLimits{read: 10 * time.Second, write: 30 * time.Second, idle: time.Minute}

// serve runs an HTTP server on ln until ctx ends, then shuts it down,
// letting requests in flight finish for a few seconds.
func serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	return serveWith(ctx, ln, h, logger, receiveLimits, nil)
}

// serveWith is serve with the given limits and, if not nil, the server's
// ConnContext.
func serveWith(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, l serverLimits, connContext func(context.Context, net.Conn) context.Context) error {
	srv := &http.Server{
		Handler:           h,
		ConnContext:       connContext,
		ReadHeaderTimeout: min(10*time.Second, l.read),
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
