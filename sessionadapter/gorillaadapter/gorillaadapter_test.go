package gorillaadapter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/valid"
)

var key = []byte("0123456789abcdef0123456789abcdef")

const iss = "https://op.example"

// newFileSession logs a user in on a FilesystemStore and returns the
// session and its cookie.
func newFileSession(t *testing.T, store *sessions.FilesystemStore) (*sessions.Session, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	w := httptest.NewRecorder()
	s, err := store.New(r, "app")
	if err != nil && s == nil {
		t.Fatal(err)
	}
	s.Values["cart"] = "books"
	if err := s.Save(r, w); err != nil {
		t.Fatal(err)
	}
	return s, w.Result().Cookies()[0]
}

func TestFilesystemStoreSessionEnded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := sessions.NewFilesystemStore(dir, key)
	app := gorillaadapter.New(store, "app")
	idx, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(app.(sessionadapter.Deleter)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	alice, aliceCookie := stashLogin(t, app, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LoginTime: now})
	bob, _ := stashLogin(t, app, sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s2", LoginTime: now})
	for _, b := range []sessionadapter.Binding{alice, bob} {
		if err := idx.Bind(ctx, b); err != nil {
			t.Fatal(err)
		}
	}

	n, err := idx.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s1"})
	if err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v, want 1, nil", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "session_"+alice.LocalID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("alice's session file: %v, want it deleted", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "session_"+bob.LocalID)); err != nil {
		t.Fatalf("bob's session file: %v, want it kept", err)
	}
	// Alice's browser still sends the cookie; the store no longer knows it.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(aliceCookie)
	if s, _ := store.Get(r, "app"); !s.IsNew || s.Values["bclogout.sub"] != nil {
		t.Fatal("the ended session still loads")
	}
	if _, ok := app.Lookup(r); ok {
		t.Fatal("the ended session still has a binding")
	}
}

func TestDeleteSessionRefusesPaths(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "sessions")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(parent, "session_secret")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	del := gorillaadapter.New(sessions.NewFilesystemStore(dir, key), "app").(sessionadapter.Deleter)
	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{name: "missing file is fine", id: "NOSUCHID"},
		{name: "empty", id: "", wantErr: gorillaadapter.ErrInvalidID},
		{name: "dot dot", id: "..", wantErr: gorillaadapter.ErrInvalidID},
		{name: "traversal", id: "../../session_secret", wantErr: gorillaadapter.ErrInvalidID},
		{name: "slash", id: "a/b", wantErr: gorillaadapter.ErrInvalidID},
		{name: "backslash", id: `a\b`, wantErr: gorillaadapter.ErrInvalidID},
		{name: "nul", id: "a\x00b", wantErr: gorillaadapter.ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := del.DeleteSession(ctx, tt.id); !errors.Is(err, tt.wantErr) {
				t.Fatalf("DeleteSession(%q) = %v, want %v", tt.id, err, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("a file outside the directory was touched: %v", err)
	}
}

// FuzzDeleteSession feeds session IDs (which arrive in cookies) to the
// deleter: none may remove a file other than its own session's.
func FuzzDeleteSession(f *testing.F) {
	for _, s := range []string{"ABC", "..", "../session_keep", "/etc/passwd", `..\x`, "", "session_keep"} {
		f.Add(s)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	keep := []string{filepath.Join(parent, "session_keep"), filepath.Join(dir, "keep")}
	for _, k := range keep {
		if err := os.WriteFile(k, nil, 0o600); err != nil {
			f.Fatal(err)
		}
	}
	del := gorillaadapter.New(sessions.NewFilesystemStore(dir, key), "app").(sessionadapter.Deleter)
	f.Fuzz(func(t *testing.T, id string) {
		_ = del.DeleteSession(context.Background(), id)
		for _, k := range keep {
			if _, err := os.Stat(k); err != nil {
				t.Fatalf("DeleteSession(%q) removed %s", id, k)
			}
		}
	})
}

// stashLogin logs in on sessions with Stash and returns the binding and
// the session cookie.
func stashLogin(t *testing.T, app sessionadapter.Sessions, l sessionadapter.Binding) (sessionadapter.Binding, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	w := httptest.NewRecorder()
	b, err := app.Stash(w, r, l)
	if err != nil {
		t.Fatal(err)
	}
	return b, w.Result().Cookies()[0]
}

// cookieLogin logs in on a CookieStore with Stash and returns the cookie.
func cookieLogin(t *testing.T, store sessions.Store, l sessionadapter.Binding) *http.Cookie {
	t.Helper()
	_, c := stashLogin(t, gorillaadapter.New(store, "app"), l)
	return c
}

func TestCookieStoreWithGuard(t *testing.T) {
	ctx := context.Background()
	store := sessions.NewCookieStore(key)
	rev, _ := sessionadapter.NewMemoryRevocations()
	ender, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithSessionLifetime(time.Hour))
	sess := gorillaadapter.New(store, "app")
	guard, err := middleware.Guard(rev, sess.Lookup,
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			if err := sess.End(w, r); err != nil {
				t.Error(err)
			}
			w.WriteHeader(http.StatusUnauthorized)
		}))
	if err != nil {
		t.Fatal(err)
	}
	app := guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	visit := func(c *http.Cookie) *http.Response {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w.Result()
	}

	t0 := time.Unix(1_700_000_000, 0)
	older := cookieLogin(t, store, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s0", LoginTime: t0.Add(-time.Hour)})
	current := cookieLogin(t, store, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LoginTime: t0})
	bob := cookieLogin(t, store, sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s2", LoginTime: t0})
	if n, err := ender.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, Subject: "alice", IssuedAt: t0.Add(time.Minute)}); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v, want 1 revocation", n, err)
	}
	fresh := cookieLogin(t, store, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s3", LoginTime: t0.Add(2 * time.Minute)})

	tests := []struct {
		name   string
		cookie *http.Cookie
		want   int
	}{
		{name: "current session", cookie: current, want: http.StatusUnauthorized},
		{name: "older second session", cookie: older, want: http.StatusUnauthorized},
		{name: "other user", cookie: bob, want: http.StatusOK},
		{name: "fresh login after the logout", cookie: fresh, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := visit(tt.cookie)
			if res.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized {
				cs := res.Cookies()
				if len(cs) != 1 || cs[0].MaxAge >= 0 {
					t.Fatalf("cookie not cleared: %v", cs)
				}
			}
		})
	}
}

func TestLookup(t *testing.T) {
	store := sessions.NewCookieStore(key)
	app := gorillaadapter.New(store, "app")
	if _, ok := app.Lookup(httptest.NewRequest(http.MethodGet, "/", nil)); ok {
		t.Fatal("a request without a session has a binding")
	}
	iat := time.UnixMilli(1_700_000_000_123)
	stashed, cookie := stashLogin(t, app, sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LoginTime: iat})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	b, ok := app.Lookup(r)
	// A cookie session has no ID of its own: Stash gave it a random one,
	// so the binding is as valid as a server-side session's.
	if b.LocalID == "" {
		t.Fatal("Lookup gave a cookie session no local ID")
	}
	if err := valid.Binding(b.Issuer, b.Subject, b.SessionID, b.LocalID); err != nil {
		t.Fatalf("Lookup gave an invalid binding: %v", err)
	}
	want := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LocalID: b.LocalID, LoginTime: iat}
	if !ok || b != want {
		t.Fatalf("Lookup = %+v, %v, want %+v", b, ok, want)
	}
	stashed.Expires = time.Time{}
	if stashed != want {
		t.Errorf("Stash = %+v, want %+v", stashed, want)
	}
	// A server-side session's local ID is its store ID.
	dir := t.TempDir()
	files := gorillaadapter.New(sessions.NewFilesystemStore(dir, key), "app")
	fb, _ := stashLogin(t, files, sessionadapter.Binding{Issuer: iss, Subject: "u", LoginTime: iat})
	if id := fileID(t, dir); fb.LocalID != id {
		t.Errorf("LocalID = %q, want the session's own ID %q", fb.LocalID, id)
	}
}
