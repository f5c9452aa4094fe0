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
	"sync"
	"time"

	"github.com/bclogout/bclogout/internal/mount"
	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// receiveRecord is one line of receive's output.
type receiveRecord struct {
	Time          string `json:"time"`
	Outcome       string `json:"outcome"` // "accepted" or "rejected"
	Status        int    `json:"status"`
	Issuer        string `json:"iss,omitempty"`
	Subject       string `json:"sub,omitempty"`
	SessionID     string `json:"sid,omitempty"`
	JTI           string `json:"jti,omitempty"`
	SessionsEnded *int   `json:"sessions_ended,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Detail        string `json:"detail,omitempty"`
}

// lineWriter writes JSON lines from concurrent requests without
// interleaving them. Each request encodes its own line, so the lock is
// held only for the one Write: requests wait for each other's output, not
// for each other's encoding.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) write(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		return // a receiveRecord always encodes
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(line)
}

type recordKey struct{}

// statusWriter remembers the status the handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// recordingHandler prints one line per request: the rp.Handler's hooks fill
// in the record that travels in the request context, and the status comes
// from the response.
// The hooks go to rp.NewHandler, the wrapper around the Handler it returns.
func recordingHandler(out *lineWriter, now func() time.Time) ([]rp.HandlerOption, func(http.Handler) http.Handler) {
	hooks := []rp.HandlerOption{
		rp.WithOnLogout(func(ctx context.Context, e *rp.LogoutEvent, n int) {
			if rec, ok := ctx.Value(recordKey{}).(*receiveRecord); ok {
				rec.Outcome = "accepted"
				rec.Issuer, rec.Subject, rec.SessionID, rec.JTI = e.Issuer, e.Subject, e.SessionID, e.JTI
				rec.SessionsEnded = &n
			}
		}),
		rp.WithOnReject(func(ctx context.Context, _ string, _ *http.Request, err error) {
			if rec, ok := ctx.Value(recordKey{}).(*receiveRecord); ok {
				rec.Outcome = "rejected"
				rec.Reason = rejection.Reason(err)
				rec.Detail = err.Error()
			}
		}),
	}
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &receiveRecord{}
			sw := &statusWriter{ResponseWriter: w}
			h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec)))
			rec.Time = now().UTC().Format(time.RFC3339Nano)
			rec.Status = sw.status
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			if rec.Outcome == "" {
				rec.Outcome = "rejected"
			}
			// The OP has its answer before the line is printed: a slow
			// reader of stdout (a paused terminal, a full pipe) delays
			// the output, never the deliveries.
			_ = http.NewResponseController(w).Flush()
			out.write(rec)
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
	if err := mount.CheckPath(path); err != nil {
		return usageError(s, "receive", "--path: %v", err)
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
	out := &lineWriter{w: s.stdout}
	hooks, wrap := recordingHandler(out, time.Now)
	h, err := rp.NewHandler(v, store, append(hooks, rp.WithLogger(logger))...)
	if err != nil {
		return failure(s, "receive", err)
	}
	mux := http.NewServeMux()
	// --path is the user's: mount.With checks it, where ServeMux would
	// panic or route a whole subtree.
	if err := mount.With(mux.Handle, path, wrap(h)); err != nil {
		return failure(s, "receive", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return failure(s, "receive", err)
	}
	fmt.Fprintf(s.stderr, "bclogout receive: listening on http://%s%s for logout tokens from %s to %s\n", ln.Addr(), path, vf.issuer, vf.clientID)
	if err := serve(ctx, ln, mux, logger); err != nil {
		return failure(s, "receive", err)
	}
	return exitOK
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
	return serveWith(ctx, ln, h, logger, receiveLimits)
}

func serveWith(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, l serverLimits) error {
	srv := &http.Server{
		Handler:           h,
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
