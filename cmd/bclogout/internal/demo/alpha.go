package demo

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/gorilla/sessions"
)

// sessionLifetime is both apps' session lifetime, and so how long alpha
// keeps revocations.
const sessionLifetime = 8 * time.Hour

// cookieSessions keeps alpha's sessions in a gorilla CookieStore: the data
// lives only in the browser, so a back-channel logout can only be recorded
// as a revocation, which middleware.Guard enforces at the next request.
// The claims go in and out through gorillaadapter, as the README tells
// users of cookie stores to do.
type cookieSessions struct {
	sessionadapter.Sessions
}

var _ sessionBackend = (*cookieSessions)(nil)

// revokedKey marks a request whose session the guard found revoked.
type revokedKey struct{}

func newCookieSessions(name string) *cookieSessions {
	hashKey, blockKey := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(hashKey) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(blockKey)
	st := sessions.NewCookieStore(hashKey, blockKey)
	st.Options = &sessions.Options{Path: "/", MaxAge: int(sessionLifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode}
	return &cookieSessions{gorillaadapter.New(st, name)}
}

func (c *cookieSessions) current(r *http.Request) (*sessionInfo, error) {
	if r.Context().Value(revokedKey{}) != nil {
		return nil, nil
	}
	b, ok := c.Lookup(r)
	if !ok {
		return nil, nil
	}
	return &sessionInfo{Issuer: b.Issuer, Subject: b.Subject, SID: b.SessionID, LocalID: b.LocalID, LoginTime: b.LoginTime}, nil
}

func (c *cookieSessions) start(_ context.Context, w http.ResponseWriter, r *http.Request, info sessionInfo) error {
	// A bad old cookie just gives a new session; Stash gives the cookie
	// session its local ID and saves it.
	_, err := c.Stash(w, r, sessionadapter.Binding{
		Issuer: info.Issuer, Subject: info.Subject, SessionID: info.SID, LoginTime: info.LoginTime,
	})
	return err
}

func (c *cookieSessions) end(_ context.Context, w http.ResponseWriter, r *http.Request) error {
	return c.End(w, r)
}

// newAlpha builds RP alpha: net/http, cookie sessions, the guard, and
// revocations in memory.
func newAlpha(ctx context.Context, a *rpApp, closers, notifiers *[]io.Closer) (http.Handler, error) {
	cs := newCookieSessions("alpha_session")
	a.sessions = cs
	revs, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		return nil, err
	}
	// Nothing to bind: a cookie session has no server-side data to
	// delete, so a logout is a revocation the guard enforces.
	if err := a.newFront(ctx, a.oidc.meta.Issuer, bclogout.Config{Sessions: cs.Sessions, Revocations: revs}, true, closers); err != nil {
		return nil, err
	}
	app := http.NewServeMux()
	// "Sign out": this app's session ends here at once, then the OP ends
	// its session, tells the other RP, and sends the browser back here.
	app.Handle(signOutPath, a.front.SignOut())
	app.HandleFunc("GET /{$}", a.home)
	app.HandleFunc("GET /login", a.login)
	app.HandleFunc("GET /callback", a.callback)
	app.HandleFunc("POST /logout", a.localLogout)
	// A revoked session is cleared and the request served as signed out,
	// so the page can say what happened instead of answering 401.
	guard, err := middleware.Guard(revs, cs.Lookup, middleware.WithLogger(a.logger),
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if err := cs.End(w, r); err != nil {
				a.logger.Error("demo: clearing revoked session", "rp", a.name, "error", err)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), revokedKey{}, true)))
		}))
	if err != nil {
		return nil, err
	}
	// Open pages hear about their logout at once.
	notifier, err := middleware.NewNotifier(revs, cs.Lookup, middleware.WithLogger(a.logger))
	if err != nil {
		return nil, err
	}
	*notifiers = append(*notifiers, notifier)
	root := http.NewServeMux()
	root.Handle("GET "+eventsPath, notifier)
	root.Handle("/", guard(app))
	// The OP's logout token carries no cookie: Endpoints serves it ahead
	// of the guard, and every other request on to the app.
	return a.recordDoors(a.front.Endpoints(root)), nil
}
