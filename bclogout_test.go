package bclogout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// memSessions is the smallest server-side session library: a cookie holds
// an ID, a map holds the data. It stands for scs or gorilla here, which the
// root module does not depend on (the examples module runs the same flow on
// both).
type memSessions struct {
	mu      sync.Mutex
	data    map[string]map[string]any
	deleted []string
	renewed map[*http.Request]string // the session a request got at login
}

func newMemSessions() *memSessions {
	return &memSessions{data: map[string]map[string]any{}, renewed: map[*http.Request]string{}}
}

func (m *memSessions) id(r *http.Request) string {
	if id, ok := m.renewed[r]; ok {
		return id
	}
	c, err := r.Cookie("session")
	if err != nil {
		return ""
	}
	return c.Value
}

func (m *memSessions) get(r *http.Request, key string) (any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[m.id(r)][key]
	return v, ok
}

func (m *memSessions) Stash(w http.ResponseWriter, r *http.Request, l sessionadapter.Binding) (sessionadapter.Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, m.id(r)) // a new ID at login
	id := rand.Text()
	m.renewed[r] = id
	m.data[id] = map[string]any{"login": sessionadapter.Binding{Issuer: l.Issuer, Subject: l.Subject, SessionID: l.SessionID, LoginTime: l.LoginTime}}
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id})
	l.LocalID = id
	return l, nil
}

func (m *memSessions) Lookup(r *http.Request) (sessionadapter.Binding, bool) {
	v, ok := m.get(r, "login")
	if !ok {
		return sessionadapter.Binding{}, false
	}
	b := v.(sessionadapter.Binding)
	b.LocalID = m.id(r)
	return b, true
}

func (m *memSessions) End(w http.ResponseWriter, r *http.Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, m.id(r))
	http.SetCookie(w, &http.Cookie{Name: "session", MaxAge: -1})
	return nil
}

func (m *memSessions) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleted = append(m.deleted, id)
	delete(m.data, id)
	return nil
}

// saved returns a copy of a session's data, to write back later.
func (m *memSessions) saved(id string) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]any{}
	for k, v := range m.data[id] {
		out[k] = v
	}
	return out
}

// writeBack puts a session's data back, as a request that loaded it before
// a logout and saves it afterwards does.
func (m *memSessions) writeBack(id string, v map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[id] = v
}

// idToken returns an ID token signed by op's key, for client "app", as
// the OP's token endpoint would return it.
func idToken(t testing.TB, op *opkit.OP, iss, sub, sid string, iat time.Time) string {
	t.Helper()
	return idTokenFor(t, op, "app", iss, sub, sid, iat)
}

// idTokenFor is idToken for client aud.
func idTokenFor(t testing.TB, op *opkit.OP, aud, iss, sub, sid string, iat time.Time) string {
	t.Helper()
	tok := &opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
		"iss": iss, "sub": sub, "aud": aud, "iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix(), "nonce": "n-1",
	}}
	if sid != "" {
		tok.Claims["sid"] = sid
	}
	raw, err := tok.Sign(op.Key())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type app struct {
	*bclogout.RP
	sessions *memSessions
	srv      http.Handler
	op       *opkit.OP
}

func newApp(t *testing.T, cfg bclogout.Config) *app {
	t.Helper()
	op := opkit.New(t)
	s := newMemSessions()
	cfg.Issuer, cfg.ClientID, cfg.Sessions = op.Issuer(), "app", s
	cfg.FrontChannelPath = "/frontchannel-logout"
	bl, err := bclogout.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	a := &app{RP: bl, sessions: s, op: op}
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		tok := idToken(t, op, op.Issuer(), r.FormValue("sub"), r.FormValue("sid"), time.Now().Add(-time.Second))
		if err := bl.Login(w, r, tok); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	})
	mux.Handle("/", bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.get(r, "login"); ok {
			io.WriteString(w, "signed in")
			return
		}
		io.WriteString(w, "anonymous")
	})))
	a.srv = bl.Endpoints(mux)
	return a
}

func (a *app) do(t *testing.T, method, target string, body io.Reader, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	if body != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	a.srv.ServeHTTP(w, r)
	return w
}

func (a *app) login(t *testing.T, sub, sid string) *http.Cookie {
	t.Helper()
	w := a.do(t, http.MethodGet, "/callback?sub="+sub+"&sid="+sid, nil)
	if w.Code != http.StatusOK || len(w.Result().Cookies()) == 0 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return w.Result().Cookies()[0]
}

func (a *app) logout(t *testing.T, sub, sid string) int {
	t.Helper()
	return postLogoutToken(t, a.RP, a.op, sub, sid).Code
}

// postLogoutToken delivers op's logout token for client "app", sub and sid
// to bl's back-channel endpoint, as the OP does.
func postLogoutToken(t *testing.T, bl *bclogout.RP, op *opkit.OP, sub, sid string) *httptest.ResponseRecorder {
	t.Helper()
	tok, err := op.SignLogoutToken("app", sub, sid)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	bl.Endpoints(nil).ServeHTTP(w, r)
	return w
}

func (a *app) page(t *testing.T, c *http.Cookie) string {
	t.Helper()
	return a.do(t, http.MethodGet, "/", nil, c).Body.String()
}

func TestLogoutEndsAndKeepsEnded(t *testing.T) {
	a := newApp(t, bclogout.Config{})
	alice := a.login(t, "alice", "sid-a")
	bob := a.login(t, "bob", "sid-b")
	if got := a.page(t, alice); got != "signed in" {
		t.Fatalf("after login: %q", got)
	}
	saved := map[string]any{"login": sessionadapter.Binding{Issuer: a.op.Issuer(), Subject: "alice", SessionID: "sid-a", LoginTime: time.Now().Add(-time.Second)}}

	if code := a.logout(t, "alice", "sid-a"); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	if len(a.sessions.deleted) != 1 || a.sessions.deleted[0] != alice.Value {
		t.Errorf("deleted %v, want [%s]", a.sessions.deleted, alice.Value)
	}
	// A request that loaded alice's session before the logout saves it
	// afterwards: the guard still ends it.
	a.sessions.writeBack(alice.Value, saved)
	if got := a.page(t, alice); got != "anonymous" {
		t.Errorf("after logout and write-back: %q, want anonymous", got)
	}
	if _, ok := a.sessions.data[alice.Value]; ok {
		t.Error("the guard left the revoked session's data")
	}
	if got := a.page(t, bob); got != "signed in" {
		t.Errorf("bob after alice's logout: %q", got)
	}
	// A fresh login after the logout is valid.
	again := a.login(t, "alice", "sid-a2")
	if got := a.page(t, again); got != "signed in" {
		t.Errorf("alice's new login: %q", got)
	}
}

// Endpoints serves the OP's requests before the app's middleware: a CSRF
// check or a sign-in redirect around the app never sees the OP's POST or
// frame, and every other request reaches the app unchanged.
func TestEndpointsServeTheOPAheadOfTheApp(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       bclogout.Config
		path      string // the door's, "" for none
		frontPath string // where a front-channel request goes
	}{
		{"defaults", bclogout.Config{}, "/backchannel-logout", "/frontchannel-logout"},
		{"own paths", bclogout.Config{BackChannelPath: "/oidc/bc", FrontChannelPath: "/oidc/fc"}, "/oidc/bc", "/oidc/fc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := opkit.New(t)
			s := newMemSessions()
			cfg := tc.cfg
			cfg.Issuer, cfg.ClientID, cfg.Sessions = op.Issuer(), "app", s
			bl, err := bclogout.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			closeRP(t, bl)
			var reached []string
			// The app: every request must carry a CSRF token, as
			// gorilla/csrf's or nosurf's check would demand.
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = append(reached, r.Method+" "+r.URL.Path)
				if r.Header.Get("X-CSRF-Token") == "" {
					http.Error(w, "CSRF token missing", http.StatusForbidden)
					return
				}
				io.WriteString(w, "app")
			})
			h := bl.Endpoints(app)
			serve := func(r *http.Request) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}

			w := httptest.NewRecorder()
			if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second))); err != nil {
				t.Fatal(err)
			}
			alice := w.Result().Cookies()[0]
			tok, err := op.SignLogoutToken("app", "alice", "sid-a")
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if w := serve(r); w.Code != http.StatusOK {
				t.Fatalf("the OP's POST to %s: %d %s", tc.path, w.Code, w.Body)
			}
			if len(s.deleted) != 1 || s.deleted[0] != alice.Value {
				t.Errorf("deleted %v, want [%s]", s.deleted, alice.Value)
			}
			if w := serve(httptest.NewRequest(http.MethodGet, tc.path, nil)); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
				t.Errorf("GET %s: %d Allow %q, want 405 Allow POST", tc.path, w.Code, w.Header().Get("Allow"))
			}
			// Without FrontChannelPath no door serves a front-channel
			// request: the app answers it.
			wantCode, wantReached := http.StatusOK, 0
			if cfg.FrontChannelPath == "" {
				wantCode, wantReached = http.StatusForbidden, 1
			}
			if fc := serve(httptest.NewRequest(http.MethodGet, tc.frontPath+"?sid=sid-b", nil)); fc.Code != wantCode {
				t.Errorf("front-channel request to %s: %d %s, want %d", tc.frontPath, fc.Code, fc.Body, wantCode)
			}
			if len(reached) != wantReached {
				t.Errorf("the app saw %q, want %d requests: the OP's must not reach it", reached, wantReached)
			}
			reached = nil
			r = httptest.NewRequest(http.MethodPost, "/comments", nil)
			r.Header.Set("X-CSRF-Token", "t")
			if w := serve(r); w.Code != http.StatusOK || w.Body.String() != "app" || len(reached) != 1 {
				t.Errorf("the app's own POST: %d %q, reached %q", w.Code, w.Body, reached)
			}
		})
	}
}

// Endpoints hands the app every request that is not for a door as it came:
// no redirect of a path the app's router may read as sent (a chi app's
// "//files/a%20b"), no 404 for a CONNECT, no 400 for "OPTIONS *", and the
// request's Pattern and path values as whoever routed it to Endpoints set
// them, since the app's own middleware (otelhttp's http.route, metrics)
// reads them.
func TestEndpointsHandTheAppTheRequestUnchanged(t *testing.T) {
	op := opkit.New(t)
	bl, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions()})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	type seen struct{ method, uri, pattern, rest string }
	var got []seen
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, seen{r.Method, r.RequestURI, r.Pattern, r.PathValue("rest")})
		io.WriteString(w, "app")
	})
	h := bl.Endpoints(app)
	// Endpoints under a router of the app's, which set Pattern and a
	// path value before it.
	outer := http.NewServeMux()
	outer.Handle("/app/{rest...}", h)
	for _, tt := range []struct {
		name           string
		handler        http.Handler
		method, target string
		want           seen
	}{
		{"a plain request", h, http.MethodGet, "/", seen{"GET", "/", "", ""}},
		{"a doubled slash", h, http.MethodGet, "//files/a%20b", seen{"GET", "//files/a%20b", "", ""}},
		{"a dot segment", h, http.MethodPost, "/a/../comments", seen{"POST", "/a/../comments", "", ""}},
		{"a doubled slash before a door's path", h, http.MethodPost, "//backchannel-logout", seen{"POST", "//backchannel-logout", "", ""}},
		{"CONNECT", h, http.MethodConnect, "app.example:443", seen{"CONNECT", "app.example:443", "", ""}},
		{"OPTIONS *", h, http.MethodOptions, "*", seen{"OPTIONS", "*", "", ""}},
		{"the pattern of the app's router", outer, http.MethodGet, "/app/x/y", seen{"GET", "/app/x/y", "/app/{rest...}", "x/y"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			w := httptest.NewRecorder()
			tt.handler.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))
			if w.Code != http.StatusOK || w.Body.String() != "app" || len(got) != 1 || got[0] != tt.want {
				t.Errorf("%s %s: %d %q Location %q, the app saw %+v, want it to see %+v",
					tt.method, tt.target, w.Code, w.Body, w.Header().Get("Location"), got, tt.want)
			}
		})
	}
	// A door's path escaped is still the door's, as PostLogoutRedirectURI's
	// is to New.
	got = nil
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/backchannel%2Dlogout", nil))
	if w.Code != http.StatusMethodNotAllowed || len(got) != 0 {
		t.Errorf("GET /backchannel%%2Dlogout: %d, the app saw %+v; want the door's 405", w.Code, got)
	}
	// Without FrontChannelPath a front-channel request is the app's, and
	// ends nothing: a login to the sid it names is not refused.
	w = httptest.NewRecorder()
	bl.Endpoints(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?sid=sid-f", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("front-channel request without FrontChannelPath: %d, want the 404 of a nil next", w.Code)
	}
	if err := bl.Login(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-f", time.Now().Add(-time.Second))); err != nil {
		t.Errorf("login to the sid a front-channel request named without FrontChannelPath: %v", err)
	}
}

// Endpoints serves the doors its Config names and no other: each
// configured door answers a request for its path itself (a GET to a
// POST-only door: its 405), an unconfigured one's path is the app's, as is
// a request whose path is empty (a CONNECT, an absolute-form target
// without a path) though an unconfigured door's is too, and a second
// Endpoints of the same RP serves the same doors beside the first.
func TestEndpointsServeOnlyTheConfiguredDoors(t *testing.T) {
	const (
		bc  = "/backchannel-logout"
		fc  = "/frontchannel-logout"
		ssf = "/shared-signals"
	)
	tests := []struct {
		name  string
		cfg   bclogout.Config
		doors map[string]int // path: the door's answer to a GET; every other path is the app's
	}{
		{"defaults", bclogout.Config{}, map[string]int{bc: http.StatusMethodNotAllowed}},
		{"front channel", bclogout.Config{FrontChannelPath: fc}, map[string]int{bc: http.StatusMethodNotAllowed, fc: http.StatusBadRequest}},
		{"shared signals without front channel", bclogout.Config{SharedSignals: &bclogout.SharedSignals{}}, map[string]int{bc: http.StatusMethodNotAllowed, ssf: http.StatusMethodNotAllowed}},
		{"every door", bclogout.Config{FrontChannelPath: fc, SharedSignals: &bclogout.SharedSignals{}}, map[string]int{bc: http.StatusMethodNotAllowed, fc: http.StatusBadRequest, ssf: http.StatusMethodNotAllowed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := opkit.New(t)
			cfg := tt.cfg
			cfg.Issuer, cfg.ClientID, cfg.Sessions = op.Issuer(), "app", newMemSessions()
			bl, err := bclogout.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			closeRP(t, bl)
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
			first, second := bl.Endpoints(app), bl.Endpoints(app)
			for _, h := range []http.Handler{first, second, first} {
				for _, path := range []string{bc, fc, ssf, "/"} {
					want, door := tt.doors[path]
					if !door {
						want = http.StatusTeapot
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
					if w.Code != want {
						t.Errorf("GET %s: %d, want %d (a door's: %v)", path, w.Code, want, door)
					}
				}
				for _, r := range []struct{ method, target string }{{http.MethodConnect, "app.example:443"}, {http.MethodGet, "http://app.example"}} {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(r.method, r.target, nil))
					if w.Code != http.StatusTeapot {
						t.Errorf("%s %s, an empty path: %d, want the app's", r.method, r.target, w.Code)
					}
				}
			}
		})
	}
}

func TestReplayedLogoutTokenRefused(t *testing.T) {
	a := newApp(t, bclogout.Config{})
	tok, err := a.op.SignLogoutToken("app", "alice", "sid-a")
	if err != nil {
		t.Fatal(err)
	}
	body := url.Values{"logout_token": {tok}}.Encode()
	for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
		if got := a.do(t, http.MethodPost, "/backchannel-logout", strings.NewReader(body)).Code; got != want {
			t.Errorf("delivery %d: %d, want %d", i+1, got, want)
		}
	}
}

func TestLoginLoggedOutInFlight(t *testing.T) {
	a := newApp(t, bclogout.Config{})
	// The OP ends the session before the login callback binds it.
	if code := a.logout(t, "alice", "sid-a"); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	w := a.do(t, http.MethodGet, "/callback?sub=alice&sid=sid-a", nil)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), sessionadapter.ErrRevoked.Error()) {
		t.Fatalf("login after its logout: %d %s", w.Code, w.Body)
	}
	if len(a.sessions.data) != 0 {
		t.Errorf("a refused login left session data: %v", a.sessions.data)
	}
}

// TestLoginVerifiesTheIDToken: Login judges the raw ID token with the
// OP's keys (rp.Verifier.VerifyIDToken) and stashes nothing for one it
// refuses.
func TestLoginVerifiesTheIDToken(t *testing.T) {
	a := newApp(t, bclogout.Config{})
	other := opkit.New(t) // another OP's key
	now := time.Now()
	expired := &opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
		"iss": a.op.Issuer(), "sub": "alice", "aud": "app", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(),
	}}
	expiredRaw, err := expired.Sign(a.op.Key())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		raw     string
		wantErr error
	}{
		{name: "valid", raw: idToken(t, a.op, a.op.Issuer(), "alice", "s", now)},
		{name: "another issuer", raw: idToken(t, a.op, "https://elsewhere.example", "alice", "s", now), wantErr: rp.ErrIssuer},
		{name: "another OP's key", raw: idToken(t, other, a.op.Issuer(), "alice", "s", now), wantErr: rp.ErrSignature},
		{name: "another client", raw: idTokenFor(t, a.op, "other-app", a.op.Issuer(), "alice", "s", now), wantErr: rp.ErrAudience},
		{name: "expired", raw: expiredRaw, wantErr: rp.ErrTime},
		{name: "a logout token", raw: a.op.LogoutToken("app", "alice", "s"), wantErr: rp.ErrSignature},
		{name: "not a token", raw: "", wantErr: rp.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := a.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), tt.raw)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Login: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && len(w.Result().Cookies()) != 0 {
				t.Errorf("a refused login set %v", w.Result().Cookies())
			}
		})
	}
}

func TestSignedOutHandler(t *testing.T) {
	a := newApp(t, bclogout.Config{SignedOut: http.RedirectHandler("/signed-out", http.StatusSeeOther)})
	c := a.login(t, "alice", "sid-a")
	a.logout(t, "alice", "sid-a")
	a.sessions.writeBack(c.Value, map[string]any{"login": sessionadapter.Binding{Issuer: a.op.Issuer(), Subject: "alice", SessionID: "sid-a", LoginTime: time.Now().Add(-time.Minute)}})
	w := a.do(t, http.MethodGet, "/", nil, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signed-out" {
		t.Errorf("revoked request: %d %v", w.Code, w.Header())
	}
}

func TestNewInvalidConfig(t *testing.T) {
	op := opkit.New(t)
	s := newMemSessions()
	for _, tc := range []struct {
		name string
		cfg  bclogout.Config
	}{
		{"no issuer", bclogout.Config{ClientID: "app", Sessions: s}},
		{"no client id", bclogout.Config{Issuer: op.Issuer(), Sessions: s}},
		{"no sessions", bclogout.Config{Issuer: op.Issuer(), ClientID: "app"}},
		{"nil verify option", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, Verify: []rpOption{nil}}},
		// A router's pattern (a wildcard, a method, a subtree), which
		// Endpoints would compare as written and no request would
		// reach, or a path two doors share, is refused here.
		{"relative back-channel path", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, BackChannelPath: "backchannel-logout"}},
		{"back-channel subtree", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, BackChannelPath: "/logout/"}},
		{"back-channel wildcard", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, BackChannelPath: "/logout/{sid}"}},
		{"back-channel with a method", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, BackChannelPath: "POST /logout"}},
		{"front-channel dot segment", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, FrontChannelPath: "/a/../fc"}},
		{"shared signals path with a query", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, SharedSignals: &bclogout.SharedSignals{Path: "/ssf?x=1"}}},
		{"front channel on the back channel", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, FrontChannelPath: "/backchannel-logout"}},
		{"shared signals on the front channel", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, FrontChannelPath: "/fc", SharedSignals: &bclogout.SharedSignals{Path: "/fc"}}},
		{"sign-out route on the back channel", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, PostLogoutRedirectURI: "http://127.0.0.1/backchannel-logout"}},
		// Another host's path too: the sign-out route is this app's,
		// served by what Endpoints wraps, whatever host the OP sends
		// the browser back to.
		{"sign-out route on the front channel at another host", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, FrontChannelPath: "/signout", PostLogoutRedirectURI: "https://www.example.com/signout"}},
		{"sign-out route on the back channel, escaped", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, PostLogoutRedirectURI: "http://127.0.0.1/backchannel%2Dlogout"}},
		// A browser removes dot segments, escaped or not, before it asks
		// (RFC 3986 §5.2.4): the OP's redirect would land on the door.
		{"sign-out route on the back channel after its dot segments", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, PostLogoutRedirectURI: "http://127.0.0.1/x/../backchannel-logout"}},
		{"sign-out route on the back channel after its escaped dot segments", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, PostLogoutRedirectURI: "http://127.0.0.1/x/%2e%2E/backchannel-logout"}},
		// In an http(s) URL a browser reads a backslash as a slash (WHATWG
		// URL, path state): it too would land on the door.
		{"sign-out route on the back channel after backslashed dot segments", bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, PostLogoutRedirectURI: `http://127.0.0.1/x\..\backchannel-logout`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bclogout.New(t.Context(), tc.cfg); !errors.Is(err, bclogout.ErrInvalidConfig) {
				t.Errorf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestOnLogout(t *testing.T) {
	var got []string
	a := newApp(t, bclogout.Config{OnLogout: func(_ context.Context, e *rp.LogoutEvent, n int) {
		got = append(got, fmt.Sprintf("%s %s %d", e.Subject, e.SessionID, n))
	}})
	a.login(t, "alice", "sid-a")
	if code := a.logout(t, "alice", "sid-a"); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	if len(got) != 1 || got[0] != "alice sid-a 1" {
		t.Errorf("OnLogout saw %q, want [alice sid-a 1]", got)
	}
}

// closeRP closes bl when the test ends: pending logout retries get a
// second, so a test that left a store down is not waited for.
func closeRP(t testing.TB, bl *bclogout.RP) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = bl.Close(ctx)
	})
}

// A revocation is kept for Config.SessionLifetime, however long that is:
// a copy of a session that outlives its revocation (a stolen cookie, a
// request in flight that writes it back) would be served as signed in
// again once the revocation is forgotten.
func TestRevocationKeptForTheSessionLifetime(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	revs, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, bclogout.Config{Revocations: revs, SessionLifetime: 90 * 24 * time.Hour})
	c := a.login(t, "alice", "sid-a")
	a.sessions.mu.Lock()
	stolen := maps.Clone(a.sessions.data[c.Value])
	a.sessions.mu.Unlock()
	if code := a.logout(t, "alice", "sid-a"); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	mu.Lock()
	now = now.Add(31 * 24 * time.Hour) // the session library keeps sessions 90 days
	mu.Unlock()
	a.sessions.writeBack(c.Value, stolen)
	if got := a.page(t, c); got != "anonymous" {
		t.Fatalf("31 days after its logout, a copy of the logged-out session is %q: its revocation was kept 30 days and the front door cannot be told the sessions live longer", got)
	}
}

// downBindings is a bindings store that is down for Bind.
type downBindings struct{ sessionadapter.Store }

func (downBindings) Bind(context.Context, sessionadapter.Binding) error {
	return errors.New("bindings store down")
}

// When binding fails for any reason (the bindings store or the
// revocations are down), Login ends the session it stashed the login in
// before returning the error: the user the app tells "login failed" is
// not signed in, with a session no logout could find.
func TestLoginBindFailureEndsTheSession(t *testing.T) {
	mem, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, bclogout.Config{Bindings: downBindings{mem}})
	w := a.do(t, http.MethodGet, "/callback?sub=alice&sid=s1", nil)
	if w.Code != http.StatusForbidden {
		t.Fatalf("precondition: the callback answers Login's error: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" && c.MaxAge >= 0 && c.Value != "" {
			if got := a.page(t, c); got != "anonymous" {
				t.Fatalf("after Login failed, the session it left is %q", got)
			}
		}
	}
}

// docOP serves, at its issuer, the discovery document doc writes (given
// the issuer and the jwks_uri of an opkit OP, whose keys it names) and
// counts the fetches of that document.
func docOP(t *testing.T, doc func(issuer, jwksURI string) string) (issuer string, fetches *atomic.Int64) {
	t.Helper()
	op := opkit.New(t)
	fetches = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(nil)
	issuer = "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc(issuer, op.JWKSURL()))
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer, fetches
}

// New reads the OP's discovery document once: back-channel, sign-out and
// front-channel logout are configured from the one fetch.
func TestNewFetchesDiscoveryOnce(t *testing.T) {
	issuer, fetches := docOP(t, func(issuer, jwksURI string) string {
		return fmt.Sprintf(`{"issuer":%q,"jwks_uri":%q,"end_session_endpoint":"%[1]s/logout",
			"frontchannel_logout_supported":true,"frontchannel_logout_session_supported":true}`, issuer, jwksURI)
	})
	bl, err := bclogout.New(t.Context(), bclogout.Config{Issuer: issuer, ClientID: "app", Sessions: newMemSessions()})
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close(context.Background())
	if n := fetches.Load(); n != 1 {
		t.Errorf("New fetched the discovery document %d times, want 1", n)
	}
	w := httptest.NewRecorder()
	bl.SignOut().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/signout", nil))
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, issuer+"/logout?") {
		t.Errorf("SignOut redirected to %q, want the end_session_endpoint", loc)
	}
}

// New reads the discovery document as strictly as a token: a member name
// in another case is not the member, and bytes after the document make it
// invalid.
func TestNewReadsDiscoveryStrictly(t *testing.T) {
	tests := []struct {
		name        string
		doc         string // issuer, then jwks_uri
		wantErr     error
		wantSignOut string // where SignOut redirects, after the issuer
	}{
		{name: "exact names", doc: `{"issuer":%q,"jwks_uri":%q,"end_session_endpoint":"%[1]s/logout"}`, wantSignOut: "/logout?"},
		{name: "case-changed end_session_endpoint", doc: `{"issuer":%q,"jwks_uri":%q,"End_Session_Endpoint":"%[1]s/logout"}`,
			wantSignOut: ""}, // no end_session_endpoint: the signed-out page
		{name: "trailing bytes", doc: `{"issuer":%q,"jwks_uri":%q,"end_session_endpoint":"%[1]s/logout"} trailing`,
			wantErr: jwks.ErrFetch},
		{name: "member twice", doc: `{"issuer":%q,"jwks_uri":%q,"end_session_endpoint":"https://evil.example/","end_session_endpoint":"%[1]s/logout"}`,
			wantErr: jwks.ErrFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issuer, _ := docOP(t, func(issuer, jwksURI string) string { return fmt.Sprintf(tt.doc, issuer, jwksURI) })
			bl, err := bclogout.New(t.Context(), bclogout.Config{Issuer: issuer, ClientID: "app", Sessions: newMemSessions()})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer bl.Close(context.Background())
			w := httptest.NewRecorder()
			bl.SignOut().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/signout", nil))
			loc := w.Header().Get("Location")
			if tt.wantSignOut == "" && loc != "/" || tt.wantSignOut != "" && !strings.HasPrefix(loc, issuer+tt.wantSignOut) {
				t.Errorf("SignOut redirected to %q, want %q", loc, issuer+tt.wantSignOut)
			}
		})
	}
}

// flakyRevocations fails every Revoke while down: a revocation store
// (Redis) briefly unavailable.
type flakyRevocations struct {
	sessionadapter.Revocations
	down atomic.Bool
}

// newFlakyRevocations is an in-memory revocation set that is up until
// down is set.
func newFlakyRevocations(t *testing.T) *flakyRevocations {
	t.Helper()
	mem, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	return &flakyRevocations{Revocations: mem}
}

func (f *flakyRevocations) Revoke(ctx context.Context, l sessionadapter.Logout, keepFor time.Duration) error {
	if f.down.Load() {
		return errors.New("revocations unavailable")
	}
	return f.Revocations.Revoke(ctx, l, keepFor)
}

// doorMetrics records every observation as door:outcome.
type doorMetrics struct {
	mu  sync.Mutex
	got []string
}

func (m *doorMetrics) Observe(door, _, outcome string, _ int, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, door+":"+outcome)
}

func (m *doorMetrics) count(s string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, g := range m.got {
		if g == s {
			n++
		}
	}
	return n
}

// Every door's logout that a store failed ends once the store is back:
// the door answers so that its sender may retry, and the metrics count it
// once, with its door. The pipeline retries a logout token, a
// front-channel request and a Sign out in any case (failed, queued,
// retried); a SET is left to its transmitter, which the 503 asks to
// deliver it again (failed, then accepted on that delivery).
func TestEveryDoorRetriesAStoreFailure(t *testing.T) {
	for _, door := range []string{"backchannel", "frontchannel", "signout", "sharedsignals"} {
		t.Run(door, func(t *testing.T) {
			op := opkit.New(t)
			revs := newFlakyRevocations(t)
			m := &doorMetrics{}
			s := newMemSessions()
			bl, err := bclogout.New(t.Context(), bclogout.Config{
				Issuer: op.Issuer(), ClientID: "app", Sessions: s, Revocations: revs, Metrics: m,
				FrontChannelPath: "/frontchannel-logout", SharedSignals: &bclogout.SharedSignals{},
			})
			if err != nil {
				t.Fatal(err)
			}
			closeRP(t, bl)
			w := httptest.NewRecorder()
			if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second))); err != nil {
				t.Fatal(err)
			}
			alice := w.Result().Cookies()[0]
			saved := s.saved(alice.Value) // a request in flight writes it back
			revs.down.Store(true)

			w = httptest.NewRecorder()
			var want int
			var redeliver func() int // the transmitter's, for a SET
			switch door {
			case "backchannel":
				w = postLogoutToken(t, bl, op, "alice", "sid-a")
				want = http.StatusBadRequest
			case "frontchannel":
				bl.Endpoints(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?"+url.Values{"iss": {op.Issuer()}, "sid": {"sid-a"}}.Encode(), nil))
				want = http.StatusServiceUnavailable
			case "signout":
				r := httptest.NewRequest(http.MethodPost, "/signout", nil)
				r.AddCookie(alice)
				bl.SignOut().ServeHTTP(w, r)
				want = http.StatusInternalServerError // Config.SignOutFailed's default
			case "sharedsignals":
				set, err := op.SessionRevoked("app", "alice", "sid-a")
				if err != nil {
					t.Fatal(err)
				}
				redeliver = func() int {
					w := httptest.NewRecorder()
					r := httptest.NewRequest(http.MethodPost, "/shared-signals", strings.NewReader(set))
					r.Header.Set("Content-Type", "application/secevent+jwt")
					bl.Endpoints(nil).ServeHTTP(w, r)
					return w.Code
				}
				w.Code = redeliver()
				want = http.StatusServiceUnavailable
			}
			if w.Code != want {
				t.Fatalf("answer with the store down: %d %s, want %d", w.Code, w.Body, want)
			}
			revs.down.Store(false)
			counts := []string{"failed", "queued", "retried"}
			if redeliver != nil {
				if got := redeliver(); got != http.StatusAccepted {
					t.Fatalf("the transmitter's redelivery: %d, want 202; metrics %v", got, m.got)
				}
				counts = []string{"failed", "accepted"}
			}
			for deadline := time.Now().Add(10 * time.Second); m.count(door+":"+counts[len(counts)-1]) == 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("not retried; metrics %v", m.got)
				}
			}
			s.writeBack(alice.Value, saved)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(alice)
			w = httptest.NewRecorder()
			bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := s.get(r, "login"); ok {
					io.WriteString(w, "signed in")
				}
			})).ServeHTTP(w, r)
			if w.Body.String() != "" {
				t.Errorf("after the retry, the written-back session is %q", w.Body)
			}
			for _, o := range []string{"failed", "queued", "retried", "accepted"} {
				want := 0
				if slices.Contains(counts, o) {
					want = 1
				}
				if n := m.count(door + ":" + o); n != want {
					t.Errorf("%s:%s counted %d times, want %d; metrics %v", door, o, n, want, m.got)
				}
			}
		})
	}
}

// freshStash is a Sessions whose Stash builds the Binding it returns
// afresh, as a port of a custom implementation may, without the raw ID
// token it was given.
type freshStash struct{ *memSessions }

func (f freshStash) Stash(w http.ResponseWriter, r *http.Request, b sessionadapter.Binding) (sessionadapter.Binding, error) {
	got, err := f.memSessions.Stash(w, r, b)
	return sessionadapter.Binding{Issuer: got.Issuer, Subject: got.Subject, SessionID: got.SessionID, LoginTime: got.LoginTime, LocalID: got.LocalID}, err
}

// Login keeps the raw ID token with the binding for sign-out's
// id_token_hint whatever the Sessions' Stash returns.
func TestLoginKeepsTheIDTokenWhateverStashReturns(t *testing.T) {
	op := opkit.New(t)
	if err := op.RegisterClient(opkit.Client{ID: "app", RedirectURIs: []string{"https://rp.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	bindings, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	bl, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: freshStash{newMemSessions()}, Bindings: bindings})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	tok := idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second))
	rec := httptest.NewRecorder()
	if err := bl.Login(rec, httptest.NewRequest(http.MethodGet, "/cb", nil), tok); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			id = c.Value
		}
	}
	hint, err := bindings.(interface {
		IDTokenHint(context.Context, string) (string, error)
	}).IDTokenHint(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if hint != tok {
		t.Errorf("the ID token kept for id_token_hint = %q, want the one Login was given", hint)
	}
}

// levelLog counts the records logged at each level whose message is msg.
type levelLog struct {
	mu     sync.Mutex
	msg    string
	levels []slog.Level
}

func (l *levelLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *levelLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *levelLog) WithGroup(string) slog.Handler            { return l }
func (l *levelLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Message == l.msg {
		l.levels = append(l.levels, r.Level)
	}
	return nil
}

// Login logs why it failed, at the level of who must act: nobody for a
// login its OP session's logout overtook, the OP or an attacker for a
// refused ID token, the operator for a store that failed. The app's error
// branch need not log.
func TestLoginLogsWhyItFailed(t *testing.T) {
	mem, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cfg   bclogout.Config
		setup func(t *testing.T, a *app) string // the callback's query
		want  []slog.Level
	}{
		{name: "signed in", setup: func(*testing.T, *app) string { return "sub=alice&sid=s1" }},
		{name: "logged out in flight", want: []slog.Level{slog.LevelInfo}, setup: func(t *testing.T, a *app) string {
			a.logout(t, "alice", "s1")
			return "sub=alice&sid=s1"
		}},
		{name: "an ID token without sub", want: []slog.Level{slog.LevelWarn}, setup: func(*testing.T, *app) string { return "sid=s1" }},
		{name: "the bindings store down", cfg: bclogout.Config{Bindings: downBindings{mem}}, want: []slog.Level{slog.LevelError},
			setup: func(*testing.T, *app) string { return "sub=alice&sid=s1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &levelLog{msg: "bclogout: login refused"}
			tt.cfg.Logger = slog.New(logs)
			a := newApp(t, tt.cfg)
			a.do(t, http.MethodGet, "/callback?"+tt.setup(t, a), nil)
			logs.mu.Lock()
			defer logs.mu.Unlock()
			if !slices.Equal(logs.levels, tt.want) {
				t.Errorf("logged at %v, want %v", logs.levels, tt.want)
			}
		})
	}
}

// endFails is a Sessions whose End fails: the session store is down when
// Login must end the session it stashed a refused login in.
type endFails struct{ *memSessions }

func (endFails) End(http.ResponseWriter, *http.Request) error {
	return errors.New("session store down")
}

// A login its OP session's logout overtook is logged at Info, nobody's
// to act on; but when Login could not then end the session it stashed
// the login in (the session store is down), the operator must act: Error,
// as for any other store failure.
func TestLoginLogsASessionItCouldNotEndAtError(t *testing.T) {
	op := opkit.New(t)
	logs := &levelLog{msg: "bclogout: login refused"}
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: endFails{newMemSessions()}, Logger: slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	if w := postLogoutToken(t, bl, op, "alice", "sid-a"); w.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	err = bl.Login(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/callback", nil),
		idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second)))
	if !errors.Is(err, sessionadapter.ErrRevoked) || !strings.Contains(err.Error(), "session store down") {
		t.Fatalf("precondition: Login = %v, want ErrRevoked and the End failure", err)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if want := []slog.Level{slog.LevelError}; !slices.Equal(logs.levels, want) {
		t.Errorf("logged at %v, want %v: the session holding the refused login was not ended", logs.levels, want)
	}
}

// Config.Logger is where the RP logs: a login its OP session's logout
// overtook is logged there, and nothing of it goes to slog.Default (the
// stores New builds by default log through Config.Logger too).
func TestLoginLogsOnlyThroughConfigLogger(t *testing.T) {
	def := &levelLog{}
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(def))
	def.msg = "sessionadapter: login refused: its OP session was already logged out"
	logs := &levelLog{msg: "bclogout: login refused"}
	a := newApp(t, bclogout.Config{Logger: slog.New(logs)})
	if code := a.logout(t, "alice", "sid-a"); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	a.do(t, http.MethodGet, "/callback?sub=alice&sid=sid-a", nil)
	def.mu.Lock()
	defer def.mu.Unlock()
	if len(def.levels) != 0 {
		t.Errorf("the refused login was logged to slog.Default at %v, not to Config.Logger", def.levels)
	}
}

// A session's local ID is, with scs, its cookie's value: a log line at
// Info or above, or an error handed to OnReject (which apps log), that
// held it would hand whoever reads the logs the session, here a session
// a logout left alive (its sub is not the logout's) or one whose data a
// store failed to delete.
func TestLogsHoldNoSessionToken(t *testing.T) {
	tests := []struct {
		name     string
		sessions func(*memSessions) sessionadapter.Sessions
		sub      string // the logout token's
	}{
		{name: "a logout whose sub is not the session's", sessions: func(m *memSessions) sessionadapter.Sessions { return m }, sub: "mallory"},
		{name: "the session data not deleted", sessions: func(m *memSessions) sessionadapter.Sessions { return flakyDeleteSessions{m} }, sub: "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := opkit.New(t)
			var logs strings.Builder
			var mu sync.Mutex
			var rejected []string
			bl, err := bclogout.New(t.Context(), bclogout.Config{
				Issuer: op.Issuer(), ClientID: "app", Sessions: tt.sessions(newMemSessions()),
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
				OnReject: func(_ context.Context, _ string, _ *http.Request, err error) {
					mu.Lock()
					rejected = append(rejected, err.Error())
					mu.Unlock()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second))); err != nil {
				t.Fatal(err)
			}
			cookie := w.Result().Cookies()[0].Value
			postLogoutToken(t, bl, op, tt.sub, "sid-a")
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_ = bl.Close(ctx) // the retries, and what they log, end here
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(logs.String(), cookie) {
				t.Errorf("the session cookie's value %q is in the log:\n%s", cookie, logs.String())
			}
			for _, e := range rejected {
				if strings.Contains(e, cookie) {
					t.Errorf("the session cookie's value %q is in the error OnReject got: %s", cookie, e)
				}
			}
		})
	}
}

// An RP nobody closes keeps working after the test that made it has
// ended: a logout its revocation store failed is retried in the
// background, ends the session and runs the app's OnLogout (and logs
// through Config.Logger) once the store is back, whatever test is running
// then. A test that leaves a store failure behind must close its RP (as
// closeRP does), or its hooks and logger outlive it: a logger writing to
// that test's t panics once the test is over.
func TestRPLeftOpenRetriesAfterItsTestEnded(t *testing.T) {
	revs := newFlakyRevocations(t)
	var ended, afterTest atomic.Bool
	var hooked atomic.Int64
	var left *bclogout.RP
	var issuer string
	t.Run("app", func(t *testing.T) {
		op := opkit.New(t) // closed when this test ends: the OP goes away
		bl, err := bclogout.New(t.Context(), bclogout.Config{
			Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions(), Revocations: revs,
			OnLogout: func(context.Context, *rp.LogoutEvent, int) {
				hooked.Add(1)
				afterTest.Store(ended.Load())
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		left = bl // not closed: "a test need not call it"
		issuer = op.Issuer()
		revs.down.Store(true)
		if w := postLogoutToken(t, bl, op, "alice", "sid-a"); w.Code != http.StatusBadRequest {
			t.Fatalf("logout with the revocations down: %d, want 400", w.Code)
		}
	})
	ended.Store(true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = left.Close(ctx)
	})
	// Until the retry runs, the logout has recorded nothing: a process
	// that exits now (no Close, or a store still down) loses it.
	alice := sessionadapter.Binding{Issuer: issuer, Subject: "alice", SessionID: "sid-a", LocalID: "l", LoginTime: time.Now().Add(-time.Minute)}
	if revoked, err := revs.Revoked(t.Context(), alice); err != nil || revoked {
		t.Fatalf("before the retry: revoked %v, %v; want nothing recorded", revoked, err)
	}
	revs.down.Store(false)
	for deadline := time.Now().Add(10 * time.Second); hooked.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the retry never ran")
		}
	}
	if !afterTest.Load() {
		t.Fatal("OnLogout ran before the test ended")
	}
	if revoked, err := revs.Revoked(t.Context(), alice); err != nil || !revoked {
		t.Errorf("after the retry: revoked %v, %v; want the revocation recorded", revoked, err)
	}
	t.Logf("the unclosed RP ran OnLogout %d time(s) after its test ended", hooked.Load())
}
