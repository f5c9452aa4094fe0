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
	del, err := gorillaadapter.FilesystemDeleter(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(del))
	if err != nil {
		t.Fatal(err)
	}
	alice, aliceCookie := newFileSession(t, store)
	bob, _ := newFileSession(t, store)
	now := time.Unix(1_700_000_000, 0)
	if err := gorillaadapter.Bind(ctx, idx, alice, sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "s1", IssuedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := gorillaadapter.Bind(ctx, idx, bob, sessionadapter.Login{Issuer: iss, Subject: "bob", SessionID: "s2", IssuedAt: now}); err != nil {
		t.Fatal(err)
	}

	n, err := idx.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s1"})
	if err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v, want 1, nil", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "session_"+alice.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("alice's session file: %v, want it deleted", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "session_"+bob.ID)); err != nil {
		t.Fatalf("bob's session file: %v, want it kept", err)
	}
	// Alice's browser still sends the cookie; the store no longer knows it.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(aliceCookie)
	if s, _ := store.Get(r, "app"); !s.IsNew || s.Values["cart"] != nil {
		t.Fatal("the ended session still loads")
	}
}

func TestFilesystemDeleterRefusesPaths(t *testing.T) {
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
	del, err := gorillaadapter.FilesystemDeleter(dir)
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := gorillaadapter.FilesystemDeleter(""); !errors.Is(err, gorillaadapter.ErrInvalidConfig) {
		t.Fatalf("FilesystemDeleter(\"\") = %v, want ErrInvalidConfig", err)
	}
}

// FuzzFilesystemDeleter feeds session IDs (which arrive in cookies) to the
// deleter: none may remove a file other than its own session's.
func FuzzFilesystemDeleter(f *testing.F) {
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
	del, _ := gorillaadapter.FilesystemDeleter(dir)
	f.Fuzz(func(t *testing.T, id string) {
		_ = del.DeleteSession(context.Background(), id)
		for _, k := range keep {
			if _, err := os.Stat(k); err != nil {
				t.Fatalf("DeleteSession(%q) removed %s", id, k)
			}
		}
	})
}

func TestBindNeedsSavedSession(t *testing.T) {
	idx, _ := sessionadapter.NewMemory()
	s := sessions.NewSession(sessions.NewCookieStore(key), "app")
	err := gorillaadapter.Bind(context.Background(), idx, s, sessionadapter.Login{Issuer: iss, Subject: "u"})
	if !errors.Is(err, gorillaadapter.ErrNoSessionID) {
		t.Fatalf("Bind unsaved = %v, want ErrNoSessionID", err)
	}
}

// cookieLogin logs in on a CookieStore with Stash and returns the cookie.
func cookieLogin(t *testing.T, store sessions.Store, c sessionadapter.Login) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	w := httptest.NewRecorder()
	s, _ := store.New(r, "app")
	gorillaadapter.Stash(s, c)
	if err := s.Save(r, w); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

func TestCookieStoreWithGuard(t *testing.T) {
	ctx := context.Background()
	store := sessions.NewCookieStore(key)
	rev, _ := sessionadapter.NewMemoryRevocations()
	ender, _ := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithSessionLifetime(time.Hour))
	guard, err := middleware.Guard(rev, gorillaadapter.Lookup(store, "app"),
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			if err := gorillaadapter.End(w, r, store, "app"); err != nil {
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
	older := cookieLogin(t, store, sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "s0", IssuedAt: t0.Add(-time.Hour)})
	current := cookieLogin(t, store, sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "s1", IssuedAt: t0})
	bob := cookieLogin(t, store, sessionadapter.Login{Issuer: iss, Subject: "bob", SessionID: "s2", IssuedAt: t0})
	if n, err := ender.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, Subject: "alice", IssuedAt: t0.Add(time.Minute)}); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v, want 1 revocation", n, err)
	}
	fresh := cookieLogin(t, store, sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "s3", IssuedAt: t0.Add(2 * time.Minute)})

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

func TestBindingOf(t *testing.T) {
	s := sessions.NewSession(sessions.NewCookieStore(key), "app")
	if _, ok := gorillaadapter.BindingOf(s); ok {
		t.Fatal("an empty session has a binding")
	}
	iat := time.UnixMilli(1_700_000_000_123)
	gorillaadapter.Stash(s, sessionadapter.Login{Issuer: iss, Subject: "u", SessionID: "s", IssuedAt: iat})
	b, ok := gorillaadapter.BindingOf(s)
	// A cookie session has no ID of its own: Stash gave it a random one,
	// so the binding is as valid as a server-side session's.
	if b.LocalID == "" {
		t.Fatal("BindingOf gave a cookie session no local ID")
	}
	if err := b.Validate(); err != nil {
		t.Fatalf("BindingOf gave an invalid binding: %v", err)
	}
	want := sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LocalID: b.LocalID, LoginTime: iat}
	if !ok || b != want {
		t.Fatalf("BindingOf = %+v, %v, want %+v", b, ok, want)
	}
	// A session with a store ID keeps it.
	s2 := sessions.NewSession(sessions.NewCookieStore(key), "app")
	s2.ID = "server-side-id"
	gorillaadapter.Stash(s2, sessionadapter.Login{Issuer: iss, Subject: "u", IssuedAt: iat})
	if b2, _ := gorillaadapter.BindingOf(s2); b2.LocalID != "server-side-id" {
		t.Errorf("LocalID = %q, want the session's own ID", b2.LocalID)
	}
}
