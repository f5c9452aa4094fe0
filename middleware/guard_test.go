package middleware_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
)

const cookieName = "app"

// cookieApp is an app whose sessions live only in the browser's cookie
// (as with gorilla's CookieStore; the real store is tested in
// gorillaadapter): login stashes the ID token's claims in the cookie, the
// guard reads them back.
type cookieApp struct {
	rev sessionadapter.Revocations
	h   http.Handler
}

// stashedClaims is what a cookie session holds; the cookie is unsigned
// here, which a real store must never do.
type stashedClaims struct {
	Iss, Sub, Sid string
	Iat           int64
}

func sessionCookie(c stashedClaims) *http.Cookie {
	b, _ := json.Marshal(c)
	return &http.Cookie{Name: cookieName, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/"}
}

func readSession(r *http.Request) (sessionadapter.Binding, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return sessionadapter.Binding{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	var c stashedClaims
	if err != nil || json.Unmarshal(b, &c) != nil {
		return sessionadapter.Binding{}, false
	}
	return sessionadapter.Binding{Issuer: c.Iss, Subject: c.Sub, SessionID: c.Sid, LoginTime: time.Unix(c.Iat, 0)}, c.Iss != ""
}

// clearSession deletes the session cookie.
func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: "/", MaxAge: -1})
}

func newCookieApp(t *testing.T, opts ...middleware.GuardOption) *cookieApp {
	t.Helper()
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	a := &cookieApp{rev: rev}
	guard, err := middleware.Guard(rev, a.lookup, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a.h = guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "private") }))
	return a
}

func (a *cookieApp) lookup(r *http.Request) (sessionadapter.Binding, bool) { return readSession(r) }

// login returns the cookie of a fresh session for these ID token claims.
func (a *cookieApp) login(t *testing.T, sub, sid string, iat time.Time) *http.Cookie {
	t.Helper()
	return sessionCookie(stashedClaims{Iss: "https://op.example", Sub: sub, Sid: sid, Iat: iat.Unix()})
}

func (a *cookieApp) get(c *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/private", nil)
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func (a *cookieApp) logout(t *testing.T, sub, sid string, iat time.Time) {
	t.Helper()
	l := sessionadapter.Logout{Issuer: "https://op.example", Subject: sub, SessionID: sid, IssuedAt: iat}
	if err := a.rev.Revoke(context.Background(), l, time.Hour); err != nil {
		t.Fatal(err)
	}
}

func TestGuardCookieFlows(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		run  func(t *testing.T, a *cookieApp) *http.Cookie // the session to check
		want int
	}{
		{name: "no session passes", run: func(*testing.T, *cookieApp) *http.Cookie { return nil }, want: http.StatusOK},
		{name: "live session passes", run: func(t *testing.T, a *cookieApp) *http.Cookie { return a.login(t, "alice", "s1", t0) }, want: http.StatusOK},
		{name: "logout stored before the login it ends", run: func(t *testing.T, a *cookieApp) *http.Cookie {
			a.logout(t, "", "s1", t0.Add(time.Second))
			return a.login(t, "alice", "s1", t0)
		}, want: http.StatusUnauthorized},
		{name: "logout during login", run: func(t *testing.T, a *cookieApp) *http.Cookie {
			c := a.login(t, "alice", "s1", t0)
			a.logout(t, "alice", "s1", t0) // same second as the login
			return c
		}, want: http.StatusUnauthorized},
		{name: "logout after requests", run: func(t *testing.T, a *cookieApp) *http.Cookie {
			c := a.login(t, "alice", "s1", t0)
			if code := a.get(c).Code; code != http.StatusOK {
				t.Fatalf("before logout: %d", code)
			}
			a.logout(t, "alice", "s1", t0.Add(time.Hour))
			return c
		}, want: http.StatusUnauthorized},
		{name: "fresh login after logout stays valid", run: func(t *testing.T, a *cookieApp) *http.Cookie {
			a.logout(t, "alice", "", t0)
			return a.login(t, "alice", "s2", t0.Add(time.Second))
		}, want: http.StatusOK},
		{name: "older second session caught by sub", run: func(t *testing.T, a *cookieApp) *http.Cookie {
			older := a.login(t, "alice", "s0", t0.Add(-time.Hour))
			a.login(t, "alice", "s1", t0)
			a.logout(t, "alice", "", t0.Add(time.Minute))
			return older
		}, want: http.StatusUnauthorized},
		{name: "sid logout spares the user's other sid", run: func(t *testing.T, a *cookieApp) *http.Cookie {
			other := a.login(t, "alice", "s2", t0)
			a.logout(t, "alice", "s1", t0.Add(time.Minute))
			return other
		}, want: http.StatusOK},
		{name: "sid logout for another sub ends nothing", run: func(t *testing.T, a *cookieApp) *http.Cookie {
			c := a.login(t, "alice", "s1", t0)
			a.logout(t, "mallory", "s1", t0.Add(time.Minute))
			return c
		}, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newCookieApp(t)
			w := a.get(tt.run(t, a))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if tt.want == http.StatusOK && w.Body.String() != "private" {
				t.Fatalf("body = %q, next was not called", w.Body.String())
			}
		})
	}
}

func TestGuardOnRevokedHook(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var a *cookieApp
	a = newCookieApp(t, middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		clearSession(w)
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
	}))
	c := a.login(t, "alice", "s1", t0)
	a.logout(t, "alice", "s1", t0)
	w := a.get(c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signed-out" {
		t.Fatalf("got %d to %q, want 303 to /signed-out", w.Code, w.Header().Get("Location"))
	}
	cleared := w.Result().Cookies()
	if len(cleared) != 1 || cleared[0].MaxAge >= 0 {
		t.Fatalf("cookie not cleared: %v", cleared)
	}
}

type failingRevocations struct{ sessionadapter.Revocations }

func (failingRevocations) Revoked(context.Context, sessionadapter.Binding) (bool, error) {
	return false, errors.New("redis down")
}

func TestGuardFailsClosed(t *testing.T) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called despite the error") })
	lookup := func(*http.Request) (sessionadapter.Binding, bool) {
		return sessionadapter.Binding{Issuer: "i", Subject: "u", LoginTime: time.Unix(1_700_000_000, 0)}, true
	}
	quiet := slog.New(slog.DiscardHandler)
	guard, err := middleware.Guard(failingRevocations{}, lookup, middleware.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	guard(next).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
}

type revokedRevocations struct{ sessionadapter.Revocations }

func (revokedRevocations) Revoked(context.Context, sessionadapter.Binding) (bool, error) {
	return true, nil
}

// discardWriter is a ResponseWriter that allocates nothing.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header       { return w.h }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}

// The guard's own work on a revoked request allocates nothing when the
// logger has Debug off, the usual production setting: the check runs on
// every request of every logged-out session. The lookup, the revocation
// check and the OnRevoked hook are stubs that allocate nothing either.
func TestGuardRevokedRequestAllocatesNothing(t *testing.T) {
	lookup := func(*http.Request) (sessionadapter.Binding, bool) {
		return sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s", LoginTime: time.Unix(1_700_000_000, 0)}, true
	}
	var ended int
	onRevoked := func(http.ResponseWriter, *http.Request, http.Handler) { ended++ }
	infoOnly := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	guard, err := middleware.Guard(revokedRevocations{}, lookup, middleware.WithOnRevoked(onRevoked), middleware.WithLogger(infoOnly))
	if err != nil {
		t.Fatal(err)
	}
	h := guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called for a revoked session") }))
	var w http.ResponseWriter = discardWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if allocs := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); allocs != 0 {
		t.Errorf("a revoked request allocates %v times in the guard, want 0", allocs)
	}
	if ended == 0 {
		t.Fatal("the OnRevoked hook was never called")
	}
}

// TestGuardEndsSessionWithUnknownLoginTime: a lookup that found a login
// but could not read its time returns a zero LoginTime; the guard ends
// that session (fail closed) even though no revocation is kept.
func TestGuardEndsSessionWithUnknownLoginTime(t *testing.T) {
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(*http.Request) (sessionadapter.Binding, bool) {
		return sessionadapter.Binding{Issuer: "i", Subject: "u", SessionID: "s"}, true
	}
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called for a session of unknown login time") })
	guard, err := middleware.Guard(rev, lookup, middleware.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	guard(next).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", w.Code)
	}
}

func TestGuardInvalid(t *testing.T) {
	rev, _ := sessionadapter.NewMemoryRevocations()
	lookup := func(*http.Request) (sessionadapter.Binding, bool) { return sessionadapter.Binding{}, false }
	tests := []struct {
		name    string
		rev     sessionadapter.Revocations
		lookup  func(*http.Request) (sessionadapter.Binding, bool)
		opts    []middleware.GuardOption
		wantErr error
	}{
		{name: "valid", rev: rev, lookup: lookup},
		{name: "no revocations", lookup: lookup, wantErr: errs.ErrInvalidConfig},
		{name: "no lookup", rev: rev, wantErr: errs.ErrInvalidConfig},
		{name: "nil hook", rev: rev, lookup: lookup, opts: []middleware.GuardOption{middleware.WithOnRevoked(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil logger", rev: rev, lookup: lookup, opts: []middleware.GuardOption{middleware.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil option", rev: rev, lookup: lookup, opts: []middleware.GuardOption{nil}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := middleware.Guard(tt.rev, tt.lookup, tt.opts...); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Guard err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// The guard in front of an app whose sessions live in the browser's
// cookie; the back-channel logout handler records revocations in the same
// Revocations through a sessionadapter.RevokingEnder. The Lookup methods of
// gorillaadapter.New and scsadapter.New are the lookups for those
// libraries' sessions.
func ExampleGuard() {
	rev, _ := sessionadapter.NewMemoryRevocations()
	guard, err := middleware.Guard(rev, readSession, middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		clearSession(w)
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
	}))
	if err != nil {
		panic(err)
	}
	app := guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "hello") }))

	// Login: stash the ID token's claims in the session.
	login := time.Unix(1_700_000_000, 0)
	cookie := sessionCookie(stashedClaims{Iss: "https://op.example", Sub: "alice", Sid: "sid-1", Iat: login.Unix()})

	visit := func() {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Location") != "")
	}
	visit()
	_ = rev.Revoke(context.Background(), sessionadapter.Logout{Issuer: "https://op.example", SessionID: "sid-1", IssuedAt: login.Add(time.Minute)}, 24*time.Hour)
	visit()
	// Output:
	// 200 false
	// 303 true
}
