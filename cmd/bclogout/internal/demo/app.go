package demo

import (
	"context"
	"embed"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/rp"
)

//go:embed templates/*.html
var templateFS embed.FS

func parseTemplates() (*template.Template, error) {
	return template.ParseFS(templateFS, "templates/*.html")
}

// sessionInfo is what an RP keeps about a signed-in user.
type sessionInfo struct {
	Issuer, Subject, SID, LocalID string
	LoginTime                     time.Time
}

// sessionBackend is how each RP keeps sessions: alpha in a cookie, beta
// in Redis.
type sessionBackend interface {
	// current returns the request's live session, or nil.
	current(r *http.Request) (*sessionInfo, error)
	// start creates a session and binds it to the OP session.
	start(ctx context.Context, w http.ResponseWriter, r *http.Request, s sessionInfo) error
	// end is a local logout: this RP only, the OP is not told.
	end(ctx context.Context, w http.ResponseWriter, r *http.Request) error
}

// rpApp is one relying party of the demo.
type rpApp struct {
	name, stack, accent string
	base                string // http://host:port of this RP
	landingURL, opURL   string
	oidc                *oidcClient
	sessions            sessionBackend
	events              *eventLog
	tmpl                *template.Template
	logger              *slog.Logger
	// front is the app's front door, over the app's own sessions and
	// revocations: its Endpoints serve the OP's requests (the back-channel
	// logout, and beta's front-channel logout and Shared Signals
	// receiver) ahead of the app's routes, its SignOut the "Sign out"
	// button (RP-initiated logout).
	front *bclogout.RP
	// setBearer, when set, makes the app a Shared Signals receiver at
	// sharedSignalsPath for the OP, which sends it as its bearer token.
	setBearer string
}

const logoutPath = "/backchannel-logout"

// sharedSignalsPath is beta's Shared Signals receiver, where the OP pushes
// Security Event Tokens (RFC 8935).
const sharedSignalsPath = "/shared-signals"

// signOutPath is the sign-out route: the "Sign out" button's POST and
// the OP's way back after it (the post-logout redirect URI);
// frontChannelPath is beta's front-channel logout endpoint.
const (
	signOutPath      = "/signout"
	frontChannelPath = "/frontchannel-logout"
)

// newFront builds the front door of app a over cfg, which names the app's
// sessions, revocations and bindings (nil: in memory), so that each door
// revokes where the app's guard looks, and records each logout token for
// the "What happened" panel (see recordDoors). cookieSessions says the
// app's sessions live in browsers, where no count of ended sessions exists.
func (a *rpApp) newFront(ctx context.Context, issuer string, cfg bclogout.Config, cookieSessions bool, closers *[]io.Closer) error {
	cfg.Issuer, cfg.ClientID, cfg.Logger = issuer, a.name, a.logger
	cfg.SessionLifetime = sessionLifetime
	cfg.PostLogoutRedirectURI = a.base + signOutPath
	cfg.BackChannelPath = logoutPath
	// The demo's OP registers every client with
	// backchannel_logout_session_required.
	cfg.Verify = []rp.Option{rp.WithSessionRequired()}
	if a.setBearer != "" {
		// The transmitter is the OP (the default), the SETs' aud the
		// client ID (the default).
		cfg.SharedSignals = &bclogout.SharedSignals{Path: sharedSignalsPath, BearerToken: a.setBearer}
	}
	// The hooks fill in the Event recordDoors put in the context of a
	// logout token's request; every other door's request carries none.
	cfg.OnLogout = func(ctx context.Context, e *rp.LogoutEvent, n int) {
		if ev, ok := ctx.Value(eventKey{}).(*Event); ok {
			// ev.Claims, decoded from the body, are the claims just
			// verified: the demo's OP signs and never encrypts.
			ev.Outcome, ev.SessionsEnded, ev.Recorded = "accepted", n, cookieSessions
		}
	}
	cfg.OnReject = func(ctx context.Context, _ string, _ *http.Request, err error) {
		if ev, ok := ctx.Value(eventKey{}).(*Event); ok {
			ev.Outcome, ev.Reason, ev.Detail = "rejected", rejection.Reason(err), err.Error()
		}
	}
	bl, err := bclogout.New(ctx, cfg)
	if err != nil {
		return err
	}
	a.front = bl
	*closers = append(*closers, closerFunc(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return bl.Close(ctx)
	}))
	return nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// eventsPath is where an RP page listens for its logout (middleware.Notifier).
const eventsPath = "/logout-events"

type rpPage struct {
	Title, Accent, Name, Stack string
	LandingURL, OPURL          string
	LogoutPath                 string
	SharedSignalsPath          string // "" when the app has no receiver
	SignedIn                   bool
	Subject, SID, LocalID      string
	Events                     []Event
}

func (a *rpApp) home(w http.ResponseWriter, r *http.Request) {
	s, err := a.sessions.current(r)
	if err != nil {
		a.logger.Error("demo: reading session", "rp", a.name, "error", err)
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return
	}
	p := rpPage{
		Title: "RP " + a.name, Accent: a.accent, Name: a.name, Stack: a.stack,
		LandingURL: a.landingURL, OPURL: a.opURL, LogoutPath: logoutPath, SharedSignalsPath: a.sharedSignalsPath(),
		Events: a.events.list(),
	}
	if s != nil {
		p.SignedIn, p.Subject, p.SID, p.LocalID = true, s.Subject, s.SID, s.LocalID
	}
	w.Header().Set("Cache-Control", "no-store")
	if err := a.tmpl.ExecuteTemplate(w, "rp.html", p); err != nil {
		a.logger.Error("demo: rendering page", "rp", a.name, "error", err)
	}
}

func (a *rpApp) loginCookie() string { return a.name + "_login" }

func (a *rpApp) login(w http.ResponseWriter, r *http.Request) {
	state, nonce := randomID(), randomID()
	http.SetCookie(w, &http.Cookie{
		Name: a.loginCookie(), Value: state + "." + nonce, Path: "/",
		MaxAge: 600, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, a.oidc.authURL(state, nonce), http.StatusFound)
}

func (a *rpApp) callback(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(a.loginCookie())
	state, nonce, _ := strings.Cut(valueOr(ck, err), ".")
	http.SetCookie(w, &http.Cookie{Name: a.loginCookie(), Path: "/", MaxAge: -1})
	q := r.URL.Query()
	switch {
	case q.Get("error") != "":
		http.Error(w, "the OP refused the login: "+q.Get("error"), http.StatusBadRequest)
		return
	case state == "" || q.Get("state") != state:
		http.Error(w, "login state does not match; start again", http.StatusBadRequest)
		return
	}
	c, err := a.oidc.exchange(r.Context(), q.Get("code"), nonce)
	if err != nil {
		a.logger.Warn("demo: login failed", "rp", a.name, "error", err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	s := sessionInfo{Issuer: c.Issuer, Subject: c.Subject, SID: c.SID, LocalID: randomID(), LoginTime: c.loginTime()}
	if err := a.sessions.start(r.Context(), w, r, s); err != nil {
		a.logger.Error("demo: starting session", "rp", a.name, "error", err)
		http.Error(w, "could not start the session", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func valueOr(ck *http.Cookie, err error) string {
	if err != nil {
		return ""
	}
	return ck.Value
}

func (a *rpApp) localLogout(w http.ResponseWriter, r *http.Request) {
	if err := a.sessions.end(r.Context(), w, r); err != nil {
		a.logger.Error("demo: local logout", "rp", a.name, "error", err)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// eventKey carries the Event under construction through the front door,
// whose hooks fill it in.
type eventKey struct{}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// recordDoors wraps what the app serves, its front door's Endpoints
// included, so that the "What happened" panel shows each request to the
// back-channel logout and the Shared Signals receiver. A demo's panel, not
// part of the wiring an app needs.
func (a *rpApp) recordDoors(h http.Handler) http.Handler {
	tokens, sets := a.recordEvents(h), a.recordSETs(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == logoutPath:
			tokens.ServeHTTP(w, r)
		case p == a.sharedSignalsPath() && r.Method == http.MethodPost:
			sets.ServeHTTP(w, r)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// recordEvents records a request to the back-channel logout: it keeps a
// copy of the body to show what a rejected token claimed, and logs the
// outcome.
func (a *rpApp) recordEvents(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := &Event{Time: time.Now()}
		// One byte beyond the rp.Handler's 64 KiB body cap, so that it
		// still sees an oversized body as one.
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
		if err == nil {
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			if form, err := url.ParseQuery(string(body)); err == nil {
				ev.Claims = unverifiedClaims(form.Get("logout_token"))
			}
		}
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), eventKey{}, ev)))
		ev.Status = rec.status
		if ev.Status == 0 {
			ev.Status = http.StatusOK
		}
		if ev.Outcome == "" {
			ev.Outcome = "rejected"
		}
		a.events.add(*ev)
	})
}

// sharedSignalsPath returns the app's Shared Signals receiver's path, ""
// for none.
func (a *rpApp) sharedSignalsPath() string {
	if a.setBearer == "" {
		return ""
	}
	return sharedSignalsPath
}

// recordSETs is recordEvents for the Shared Signals receiver, whose body is
// the SET itself: a 2xx answer means it was accepted.
func (a *rpApp) recordSETs(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := Event{Time: time.Now(), SET: true, Outcome: "rejected"}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
		if err == nil {
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			ev.Claims = unverifiedClaims(strings.TrimSpace(string(body)))
		}
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		ev.Status = rec.status
		if ev.Status == 0 {
			ev.Status = http.StatusOK
		}
		if ev.Status/100 == 2 {
			ev.Outcome = "accepted"
		}
		a.events.add(ev)
	})
}
