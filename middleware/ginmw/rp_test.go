package ginmw_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/testsessions"
	"github.com/bclogout/bclogout/middleware/ginmw"
	"github.com/bclogout/bclogout/sessionadapter"
)

// staleRevocations are in-memory revocations that can be made unreadable,
// as a Redis replica's are when it lost its feed.
type staleRevocations struct {
	sessionadapter.Revocations
	stale atomic.Bool
}

func (s *staleRevocations) Revoked(ctx context.Context, b sessionadapter.Binding) (bool, error) {
	if s.stale.Load() {
		return false, errors.New("revocations stale")
	}
	return s.Revocations.Revoked(ctx, b)
}

// ginApp is an app on a gin engine: the guard over the engine, the
// sign-out route mounted with r.Any and gin.WrapH, and the OP's doors
// served by Endpoints around the engine.
type ginApp struct {
	handler http.Handler // what the server serves: logout.Endpoints(engine)
	logout  *bclogout.RP
	op      *opkit.OP
	revs    *staleRevocations
	reached atomic.Int64 // requests the app's handler served
}

func newGinApp(t *testing.T) *ginApp {
	t.Helper()
	op := opkit.New(t)
	mem, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	a := &ginApp{op: op, revs: &staleRevocations{Revocations: mem}}
	s := testsessions.New()
	logout, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, Revocations: a.revs, FrontChannelPath: "/frontchannel-logout", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := logout.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})

	r := gin.New()
	r.Use(ginmw.Guard(logout.Guard))
	r.Any("/signout", gin.WrapH(logout.SignOut()))
	r.GET("/callback", func(c *gin.Context) {
		if err := logout.Login(c.Writer, c.Request, idToken(t, op, c.Query("sub"), c.Query("sid"))); err != nil {
			c.String(http.StatusForbidden, err.Error())
		}
	})
	r.GET("/", func(c *gin.Context) {
		a.reached.Add(1)
		if _, ok := s.Lookup(c.Request); ok {
			c.String(http.StatusOK, "signed in")
			return
		}
		c.String(http.StatusOK, "anonymous")
	})
	a.handler, a.logout = logout.Endpoints(r), logout
	return a
}

// idToken is the ID token the OP's token endpoint would return.
func idToken(t *testing.T, op *opkit.OP, sub, sid string) string {
	t.Helper()
	now := time.Now().Add(-time.Second)
	tok := &opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
		"iss": op.Issuer(), "sub": sub, "sid": sid, "aud": "app", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}}
	raw, err := tok.Sign(op.Key())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (a *ginApp) do(method, target string, body io.Reader, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	if body != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, r)
	return w
}

func (a *ginApp) login(t *testing.T, sub, sid string) *http.Cookie {
	t.Helper()
	w := a.do(http.MethodGet, "/callback?sub="+sub+"&sid="+sid, nil)
	if w.Code != http.StatusOK || len(w.Result().Cookies()) == 0 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return w.Result().Cookies()[0]
}

func (a *ginApp) logoutBody(t *testing.T, sub, sid string) io.Reader {
	t.Helper()
	tok, err := a.op.SignLogoutToken("app", sub, sid)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(url.Values{"logout_token": {tok}}.Encode())
}

// Served by Endpoints around the engine, the back-channel logout answers
// every method itself: 405 with Allow: POST and no-store, never gin's 404.
func TestEndpointsAroundTheEngineAnswerEveryMethod(t *testing.T) {
	a := newGinApp(t)
	tests := []struct {
		method    string
		want      int
		wantAllow string
	}{
		{method: http.MethodGet, want: http.StatusMethodNotAllowed, wantAllow: http.MethodPost},
		{method: http.MethodHead, want: http.StatusMethodNotAllowed, wantAllow: http.MethodPost},
		{method: http.MethodPut, want: http.StatusMethodNotAllowed, wantAllow: http.MethodPost},
		{method: http.MethodDelete, want: http.StatusMethodNotAllowed, wantAllow: http.MethodPost},
		{method: http.MethodOptions, want: http.StatusMethodNotAllowed, wantAllow: http.MethodPost},
		{method: http.MethodPost, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			var body io.Reader
			if tt.method == http.MethodPost {
				body = a.logoutBody(t, "alice", "sid-a")
			}
			w := a.do(tt.method, "/backchannel-logout", body)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
			if got := w.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
}

// A logout through the gin endpoint ends the session: the guard ends it at
// the user's next request and serves that request on as anonymous.
func TestGuardEndsALoggedOutSession(t *testing.T) {
	a := newGinApp(t)
	alice := a.login(t, "alice", "sid-a")
	bob := a.login(t, "bob", "sid-b")
	if got := a.do(http.MethodGet, "/", nil, alice).Body.String(); got != "signed in" {
		t.Fatalf("after login: %q", got)
	}
	if w := a.do(http.MethodPost, "/backchannel-logout", a.logoutBody(t, "alice", "sid-a")); w.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	w := a.do(http.MethodGet, "/", nil, alice)
	if got := w.Body.String(); w.Code != http.StatusOK || got != "anonymous" {
		t.Errorf("after logout: %d %q, want 200 anonymous", w.Code, got)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("cookies = %v, want the session cookie deleted", c)
	}
	if got := a.do(http.MethodGet, "/", nil, bob).Body.String(); got != "signed in" {
		t.Errorf("bob after alice's logout: %q", got)
	}
}

// The OP's request meets no gin middleware: a back-channel logout that
// carries a session cookie is served while the guard would refuse that
// session's requests (503: the revocations cannot be read).
func TestEndpointsServeTheOPAheadOfTheGuard(t *testing.T) {
	a := newGinApp(t)
	alice := a.login(t, "alice", "sid-a")
	a.revs.stale.Store(true)
	if w := a.do(http.MethodGet, "/", nil, alice); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("the app's route: status = %d, want the guard's 503", w.Code)
	}
	if w := a.do(http.MethodPost, "/backchannel-logout", a.logoutBody(t, "alice", "sid-a"), alice); w.Code != http.StatusOK {
		t.Errorf("logout: status = %d, want 200 (%s)", w.Code, w.Body)
	}
}

// A request the guard refuses (503: the revocations cannot be read) stops
// the gin chain: the app's handler never runs.
func TestGuardRefusalStopsTheChain(t *testing.T) {
	a := newGinApp(t)
	alice := a.login(t, "alice", "sid-a")
	a.revs.stale.Store(true)
	w := a.do(http.MethodGet, "/", nil, alice)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", w.Code)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if n := a.reached.Load(); n != 0 {
		t.Errorf("the app's handler ran %d times, want 0", n)
	}
}

// Every library route, the OP's doors served by Endpoints around the
// engine and the sign-out route mounted with r.Any and gin.WrapH, answers a
// method it refuses as it does on net/http: the same status, Allow and
// Cache-Control, never gin's 404.
func TestRoutesAnswerAsOnNetHTTP(t *testing.T) {
	a := newGinApp(t)
	routes := []struct {
		path string
		h    http.Handler
	}{
		{"/backchannel-logout", a.logout.Endpoints(nil)},
		{"/signout", a.logout.SignOut()},
		{"/frontchannel-logout", a.logout.Endpoints(nil)},
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	for _, rt := range routes {
		for _, m := range methods {
			t.Run(rt.path+" "+m, func(t *testing.T) {
				got := a.do(m, rt.path, nil)
				want := httptest.NewRecorder()
				rt.h.ServeHTTP(want, httptest.NewRequest(m, rt.path, nil))
				if got.Code != want.Code {
					t.Errorf("status = %d, want %d as on net/http", got.Code, want.Code)
				}
				for _, k := range []string{"Allow", "Cache-Control"} {
					if g, w := got.Header().Get(k), want.Header().Get(k); g != w {
						t.Errorf("%s = %q, want %q as on net/http", k, g, w)
					}
				}
			})
		}
	}
}
