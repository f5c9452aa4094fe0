package middleware

import (
	"log/slog"
	"net/http"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
)

// GuardOption configures Guard: WithOnRevoked and WithLogger.
type GuardOption interface {
	applyGuard(*guardConfig)
}

type guardOption func(*guardConfig)

func (f guardOption) applyGuard(c *guardConfig) { f(c) }

// loggerOption is WithLogger's option: both a GuardOption and a
// NotifierOption.
type loggerOption struct{ l *slog.Logger }

func (o loggerOption) applyGuard(c *guardConfig)       { c.logger = o.l }
func (o loggerOption) applyNotifier(c *notifierConfig) { c.logger = o.l }

// WithLogger sets the logger of Guard or NewNotifier; the default is
// slog.Default(). Its value is both a GuardOption and a NotifierOption.
func WithLogger(l *slog.Logger) interface {
	GuardOption
	NotifierOption
} {
	return loggerOption{l}
}

type guardConfig struct {
	onRevoked func(w http.ResponseWriter, r *http.Request, next http.Handler)
	logger    *slog.Logger
}

// WithOnRevoked sets what the guard does with a request whose session was
// revoked: typically clear the session cookie, then redirect to a
// signed-out page, answer 401, or call next to serve the request as
// anonymous. The default answers 401 without calling next; it cannot clear
// the cookie, since only the app knows its session store.
func WithOnRevoked(f func(w http.ResponseWriter, r *http.Request, next http.Handler)) GuardOption {
	return guardOption(func(c *guardConfig) { c.onRevoked = f })
}

// Guard returns middleware that ends revoked sessions, whatever the store:
// cookie sessions, which cannot be deleted server-side, and server-side
// sessions, which a request in flight at the logout can write back after
// their deletion. For each request, lookup reads the session's binding
// (issuer, subject, sid and login time, stashed in the session at login);
// a request without one passes through untouched. A session for which rev reports a revocation
// at or after its login time goes to the WithOnRevoked hook instead of
// next, so a logout that reached the RP before, during or after the login
// it ends is enforced, while a fresh login after the logout stays valid.
// A binding with a zero LoginTime (the lookup found a login but could not
// read its time) goes to the WithOnRevoked hook too: a session that cannot
// be shown to postdate every logout is ended, never served. When rev
// cannot tell (its store failed), the guard fails closed with 503 Service
// Unavailable: serving a possibly logged-out session is the one thing it
// exists to prevent.
//
// The check costs what rev.Revoked costs: with sessionadapter's
// sessionadapter.NewMemoryRevocations or redisadapter's Revocations, a few hashes and map
// reads in memory, no I/O and no allocation (see the README's benchmarks);
// lookup usually costs more (decoding the session cookie).
func Guard(rev sessionadapter.Revocations, lookup func(r *http.Request) (sessionadapter.Binding, bool), opts ...GuardOption) (func(http.Handler) http.Handler, error) {
	c := guardConfig{onRevoked: unauthorized, logger: slog.Default()}
	for _, o := range opts {
		if o == nil {
			return nil, errs.Config("middleware", "nil option")
		}
		o.applyGuard(&c)
	}
	switch {
	case rev == nil:
		return nil, errs.Config("middleware", "nil Revocations")
	case lookup == nil:
		return nil, errs.Config("middleware", "nil lookup")
	case c.onRevoked == nil:
		return nil, errs.Config("middleware", "nil hook")
	case c.logger == nil:
		return nil, errs.Config("middleware", "nil logger")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, ok := lookup(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			if b.LoginTime.IsZero() {
				c.logger.WarnContext(r.Context(), "middleware: session has no readable login time; ending it",
					slog.String("iss", b.Issuer), slog.String("sid", b.SessionID))
				c.onRevoked(w, r, next)
				return
			}
			revoked, err := rev.Revoked(r.Context(), b)
			switch {
			case err != nil:
				c.logger.ErrorContext(r.Context(), "middleware: checking session revocation failed",
					slog.String("iss", b.Issuer), slog.Any("error", err))
				unavailable(w)
			case revoked:
				if c.logger.Enabled(r.Context(), slog.LevelDebug) {
					// Guarded: the attributes would be boxed even with
					// Debug off, on every request of a logged-out session.
					c.logger.DebugContext(r.Context(), "middleware: session revoked by back-channel logout",
						slog.String("iss", b.Issuer), slog.String("sid", b.SessionID))
				}
				c.onRevoked(w, r, next)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}, nil
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

func unauthorized(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "session ended", http.StatusUnauthorized)
}
