package scsadapter_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gomodule/redigo/redis"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

const iss = "https://op.example"

// stores are the scs stores every behaviour test runs against: memstore,
// and redisstore on the real redis-server of scripts/with-redis.sh.
var stores = []struct {
	name string
	new  func(t *testing.T) scs.Store
}{
	{"memstore", func(*testing.T) scs.Store { return memstore.NewWithCleanupInterval(0) }},
	{"redisstore", newRedisStore},
}

// newRedisStore returns a redisstore with a fresh key prefix on the server
// at BCLOGOUT_REDIS_URL, whose keys are deleted when t ends. Without the
// variable the test skips, or fails under CI.
func newRedisStore(t *testing.T) scs.Store {
	t.Helper()
	url := os.Getenv("BCLOGOUT_REDIS_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("BCLOGOUT_REDIS_URL is not set under CI: run the tests through scripts/with-redis.sh")
		}
		t.Skip("BCLOGOUT_REDIS_URL is not set: run the tests through scripts/with-redis.sh to use a real Redis")
	}
	pool := &redis.Pool{MaxIdle: 4, Dial: func() (redis.Conn, error) { return redis.DialURL(url) }}
	prefix := "scsadapter-test:" + rand.Text() + ":"
	t.Cleanup(func() {
		conn := pool.Get()
		keys, _ := redis.Strings(conn.Do("KEYS", prefix+"*"))
		for _, k := range keys {
			_, _ = conn.Do("DEL", k)
		}
		conn.Close()
		pool.Close()
	})
	conn := pool.Get()
	defer conn.Close()
	if _, err := conn.Do("PING"); err != nil {
		t.Fatalf("redis at %s: %v", url, err)
	}
	return redisstore.NewWithPrefix(pool, prefix)
}

// app is an scs app with the back-channel model wired as the README shows:
// an index that deletes through the scs store, revocations, and the guard
// inside LoadAndSave.
type app struct {
	sm    *scs.SessionManager
	store scs.Store
	srv   *httptest.Server
	ender sessionadapter.Store

	loaded, proceed chan struct{} // for /slow
}

func newApp(t *testing.T, store scs.Store) *app {
	t.Helper()
	a := &app{sm: scs.New(), store: store, loaded: make(chan struct{}), proceed: make(chan struct{})}
	a.sm.Store = store
	del := scsadapter.New(a.sm).(sessionadapter.Deleter)
	index, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(del))
	if err != nil {
		t.Fatal(err)
	}
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	// Revocation first, then deletion: the revocation keeps the user
	// signed out; deleting the data frees storage.
	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(index))
	if err != nil {
		t.Fatal(err)
	}
	a.ender = ender
	sess := scsadapter.New(a.sm)
	guard, err := middleware.Guard(rev, sess.Lookup,
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			if err := sess.End(w, r); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.Error(w, "signed out", http.StatusUnauthorized)
		}))
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	// /login?sub=&sid=&iat= stands for the OIDC callback after the ID
	// token is validated.
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		iat, _ := time.Parse(time.RFC3339, r.FormValue("iat"))
		l := sessionadapter.Binding{Issuer: iss, Subject: r.FormValue("sub"), SessionID: r.FormValue("sid"), LoginTime: iat}
		b, err := sess.Stash(w, r, l)
		if err == nil {
			err = ender.Bind(r.Context(), b)
		}
		if errors.Is(err, sessionadapter.ErrRevoked) {
			_ = sess.End(w, r)
			http.Error(w, "already logged out", http.StatusForbidden)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, b.LocalID)
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		a.sm.Put(r.Context(), "seen", a.sm.GetInt(r.Context(), "seen")+1) // most handlers touch the session
		fmt.Fprint(w, a.sm.GetString(r.Context(), "bclogout.sub"))
	})
	// /slow loads the session, waits, then saves it: a request in flight
	// while the logout is accepted.
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		sub := a.sm.GetString(r.Context(), "bclogout.sub")
		a.loaded <- struct{}{}
		<-a.proceed
		a.sm.Put(r.Context(), "flash", "saved after the logout")
		fmt.Fprint(w, sub)
	})
	a.srv = httptest.NewServer(a.sm.LoadAndSave(guard(mux)))
	t.Cleanup(a.srv.Close)
	return a
}

// login signs sub in with an ID token for sid issued at iat and returns
// the session cookie.
func (a *app) login(t *testing.T, sub, sid string, iat time.Time) *http.Cookie {
	t.Helper()
	code, body, cookie := a.tryLogin(t, sub, sid, iat)
	if code != http.StatusOK || cookie == nil {
		t.Fatalf("login: %d %s (cookie %v)", code, body, cookie)
	}
	if cookie.Value != body {
		t.Fatalf("bound local ID %q is not the session token %q", body, cookie.Value)
	}
	return cookie
}

// tryLogin is login without the checks: the status, the body and the
// session cookie set, if any.
func (a *app) tryLogin(t *testing.T, sub, sid string, iat time.Time) (int, string, *http.Cookie) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/login?sub=%s&sid=%s&iat=%s", a.srv.URL, sub, sid, iat.UTC().Format(time.RFC3339)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == a.sm.Cookie.Name {
			return resp.StatusCode, string(body), c
		}
	}
	return resp.StatusCode, string(body), nil
}

// get requests path with cookie and returns the status and body.
func (a *app) get(t *testing.T, path string, cookie *http.Cookie) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+path, nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (a *app) logout(t *testing.T, l sessionadapter.Logout) {
	t.Helper()
	if _, err := a.ender.EndSessions(context.Background(), l); err != nil {
		t.Fatalf("EndSessions: %v", err)
	}
}

func (a *app) stored(t *testing.T, token string) bool {
	t.Helper()
	_, found, err := a.store.Find(token)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestLogout(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			a := newApp(t, st.new(t))
			alice := a.login(t, "alice", "sid-a", t0)
			bob := a.login(t, "bob", "sid-b", t0)
			if code, body := a.get(t, "/me", alice); code != http.StatusOK || body != "alice" {
				t.Fatalf("alice before logout: %d %q", code, body)
			}

			a.logout(t, sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "sid-a", IssuedAt: t0.Add(time.Minute)})
			if a.stored(t, alice.Value) {
				t.Error("alice's session data survived the logout")
			}
			// The data is gone, so the old cookie loads an empty session.
			if code, body := a.get(t, "/me", alice); code != http.StatusOK || body != "" {
				t.Errorf("alice after logout: %d %q, want 200 and no user", code, body)
			}
			if code, body := a.get(t, "/me", bob); code != http.StatusOK || body != "bob" {
				t.Errorf("bob after alice's logout: %d %q", code, body)
			}
			if !a.stored(t, bob.Value) {
				t.Error("bob's session data was deleted")
			}
		})
	}
}

// TestRaceSaveAfterLogout is race (a): a request loads the session, the
// logout is accepted (the data deleted), the request saves it again. The
// next request with the old cookie must be signed out, and its data gone.
func TestRaceSaveAfterLogout(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			a := newApp(t, st.new(t))
			alice := a.login(t, "alice", "sid-a", t0)

			done := make(chan string)
			go func() {
				req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/slow", nil)
				req.AddCookie(alice)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					done <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				done <- string(body)
			}()
			<-a.loaded
			a.logout(t, sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "sid-a", IssuedAt: t0.Add(time.Minute)})
			close(a.proceed)
			if body := <-done; body != "alice" {
				t.Fatalf("slow request: %q", body)
			}
			if !a.stored(t, alice.Value) {
				t.Fatal("the slow request did not save the session again: the race was not reproduced")
			}

			if code, _ := a.get(t, "/me", alice); code != http.StatusUnauthorized {
				t.Errorf("old cookie after the resurrecting save: %d, want 401", code)
			}
			if a.stored(t, alice.Value) {
				t.Error("the guard left the resurrected session data in the store")
			}
			if _, body := a.get(t, "/me", alice); body != "" {
				t.Errorf("old cookie, second request: signed in as %q", body)
			}
		})
	}
}

// TestRaceLogoutBeforeLogin is race (b): the logout for a sid arrives,
// then a login with an ID token issued before it completes. That session
// is signed out; a login whose ID token is newer than the logout stays.
func TestRaceLogoutBeforeLogin(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			a := newApp(t, st.new(t))
			logoutAt := t0.Add(time.Minute)
			a.logout(t, sessionadapter.Logout{Issuer: iss, Subject: "alice", SessionID: "sid-a", IssuedAt: logoutAt})

			// An ID token from before the logout: Bind refuses it, and the
			// session Stash started is destroyed (an expired cookie).
			code, _, late := a.tryLogin(t, "alice", "sid-a", t0)
			if code != http.StatusForbidden {
				t.Errorf("login older than its logout: %d, want 403", code)
			}
			if late != nil && late.MaxAge >= 0 {
				t.Errorf("the refused login left a live session cookie %v", late)
			}
			if late != nil && a.stored(t, late.Value) {
				t.Error("the refused login left its session data in the store")
			}
			// A fresh login is a new OP session (a new sid), or one of the
			// same sid clearly newer than the logout (past the OP clock
			// skew a sid revocation tolerates).
			fresh := a.login(t, "alice", "sid-b", logoutAt.Add(time.Second))
			if code, body := a.get(t, "/me", fresh); code != http.StatusOK || body != "alice" {
				t.Errorf("login of a new OP session after the logout: %d %q, want 200 alice", code, body)
			}
			newer := a.login(t, "alice", "sid-a", logoutAt.Add(defaults.SIDClockSkew+time.Second))
			if code, body := a.get(t, "/me", newer); code != http.StatusOK || body != "alice" {
				t.Errorf("login clearly newer than the logout: %d %q, want 200 alice", code, body)
			}
		})
	}
}

func TestStashRefusesIncompleteLogin(t *testing.T) {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		login   sessionadapter.Binding
		wantErr error
	}{
		{"no issuer", sessionadapter.Binding{Subject: "alice", LoginTime: t0}, sessionadapter.ErrInvalid},
		{"no sub or sid", sessionadapter.Binding{Issuer: iss, LoginTime: t0}, sessionadapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := stash(ctx, sm, tt.login); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if sm.Token(ctx) != "" || len(sm.Keys(ctx)) != 0 {
				t.Error("a refused login changed the session")
			}
		})
	}
}

func TestStashBinding(t *testing.T) {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	sm.Lifetime = 8 * time.Hour
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	l := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "sid-a", LoginTime: t0.Add(1500 * time.Millisecond)}
	b, err := stash(ctx, sm, l)
	if err != nil {
		t.Fatal(err)
	}
	if b.LocalID == "" || b.LocalID != sm.Token(ctx) {
		t.Errorf("LocalID %q, token %q", b.LocalID, sm.Token(ctx))
	}
	if want := time.Now().Add(8 * time.Hour); b.Expires.Before(want.Add(-time.Minute)) || b.Expires.After(want) {
		t.Errorf("Expires %v, want about %v", b.Expires, want)
	}
	// Round trip through the store, as the next request does.
	token, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next, err := sm.Load(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := bindingOf(next, sm)
	if !ok {
		t.Fatal("no binding after a round trip")
	}
	got.Expires, b.Expires = time.Time{}, time.Time{}
	if !got.LoginTime.Equal(b.LoginTime) {
		t.Errorf("LoginTime %v, want %v", got.LoginTime, b.LoginTime)
	}
	got.LoginTime, b.LoginTime = time.Time{}, time.Time{}
	if got != b {
		t.Errorf("Lookup = %+v, want %+v", got, b)
	}
	empty, _ := sm.Load(context.Background(), "")
	if _, ok := bindingOf(empty, sm); ok {
		t.Error("a fresh session has a binding")
	}
}

// ctxStore records which delete method was called.
type ctxStore struct {
	scs.Store
	ctxDeletes int
}

func (s *ctxStore) DeleteCtx(_ context.Context, token string) error {
	s.ctxDeletes++
	return s.Store.Delete(token)
}
func (s *ctxStore) FindCtx(_ context.Context, token string) ([]byte, bool, error) {
	return s.Store.Find(token)
}
func (s *ctxStore) CommitCtx(_ context.Context, token string, b []byte, exp time.Time) error {
	return s.Store.Commit(token, b, exp)
}

type failingStore struct{ scs.Store }

func (failingStore) Delete(string) error { return errors.New("store down") }

func TestDeleteSession(t *testing.T) {
	ctx := context.Background()
	if err := deleter(nil).DeleteSession(ctx, "tok"); !errors.Is(err, errs.ErrInvalidConfig) {
		t.Errorf("nil store: %v", err)
	}

	cs := &ctxStore{Store: memstore.NewWithCleanupInterval(0)}
	_ = cs.Commit("tok", []byte("x"), time.Now().Add(time.Hour))
	del := deleter(cs)
	if err := del.DeleteSession(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := cs.Find("tok"); found || cs.ctxDeletes != 1 {
		t.Errorf("found %v after delete, DeleteCtx calls %d, want false and 1", found, cs.ctxDeletes)
	}
	if err := del.DeleteSession(ctx, "absent"); err != nil {
		t.Errorf("deleting an absent token: %v", err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := del.DeleteSession(canceled, "tok"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}

	bad := deleter(failingStore{memstore.NewWithCleanupInterval(0)})
	if err := bad.DeleteSession(ctx, "tok"); err == nil {
		t.Error("a failing store reported success")
	}
}

// stash is New(sm).Stash for the session loaded in ctx.
func stash(ctx context.Context, sm *scs.SessionManager, l sessionadapter.Binding) (sessionadapter.Binding, error) {
	r := httptest.NewRequest(http.MethodGet, "/callback", nil).WithContext(ctx)
	return scsadapter.New(sm).Stash(httptest.NewRecorder(), r, l)
}

// bindingOf is New(sm).Lookup for the session loaded in ctx.
func bindingOf(ctx context.Context, sm *scs.SessionManager) (sessionadapter.Binding, bool) {
	return scsadapter.New(sm).Lookup(httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
}

// deleter is New's DeleteSession for a manager over store.
func deleter(store scs.Store) sessionadapter.Deleter {
	sm := scs.New()
	sm.Store = store
	return scsadapter.New(sm).(sessionadapter.Deleter)
}
