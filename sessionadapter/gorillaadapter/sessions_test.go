package gorillaadapter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
)

func TestNewFilesystemStore(t *testing.T) {
	dir := t.TempDir()
	store := sessions.NewFilesystemStore(dir, key)
	s := gorillaadapter.New(store, "app")
	_, before := newFileSession(t, store) // a session from before the login
	oldID := fileID(t, dir)

	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	r.AddCookie(before)
	w := httptest.NewRecorder()
	login := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "sid-1", LoginTime: time.Unix(1_700_000_000, 0)}
	b, err := s.Stash(w, r, login)
	if err != nil {
		t.Fatal(err)
	}
	if b.LocalID == "" || b.LocalID == oldID {
		t.Fatalf("Stash kept the ID from before the login (%q, was %q)", b.LocalID, oldID)
	}
	if _, err := os.Stat(filepath.Join(dir, "session_"+oldID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pre-login session's file is still there: %v", err)
	}
	if b.Issuer != iss || b.Subject != "alice" || b.SessionID != "sid-1" || !b.LoginTime.Equal(login.LoginTime) || b.Expires.IsZero() {
		t.Errorf("binding %+v", b)
	}

	next := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range w.Result().Cookies() {
		next.AddCookie(c)
	}
	got, ok := s.Lookup(next)
	if !ok || got.LocalID != b.LocalID || !got.LoginTime.Equal(login.LoginTime) {
		t.Fatalf("Lookup: %+v %v, want %+v", got, ok, b)
	}

	del := s.(sessionadapter.Deleter)
	if err := del.DeleteSession(context.Background(), b.LocalID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "session_"+b.LocalID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DeleteSession left the file: %v", err)
	}
	if err := del.DeleteSession(context.Background(), b.LocalID); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
	for _, id := range []string{"", ".", "..", "../x", `a\b`, "a/b", "x\x00y"} {
		if err := del.DeleteSession(context.Background(), id); !errors.Is(err, gorillaadapter.ErrInvalidID) {
			t.Errorf("DeleteSession(%q): %v, want ErrInvalidID", id, err)
		}
	}
}

// failingStore is a gorilla store whose Save always fails.
type failingStore struct{ sessions.Store }

func (failingStore) Save(*http.Request, http.ResponseWriter, *sessions.Session) error {
	return errors.New("disk full")
}

// A deletion the store failed names the session by a hash in its error,
// which reaches the logs and OnReject: never by its ID.
func TestDeleteSessionErrorNamesNoID(t *testing.T) {
	const id = "MZXW6YTBOI2DAMBQGAYTAMBQGAYTAMBQ"
	del := gorillaadapter.New(failingStore{sessions.NewCookieStore(key)}, "app").(sessionadapter.Deleter)
	err := del.DeleteSession(context.Background(), id)
	if err == nil || strings.Contains(err.Error(), id) {
		t.Errorf("DeleteSession with the store failing = %v, want an error without the ID", err)
	}
}

func TestNewCookieStore(t *testing.T) {
	store := sessions.NewCookieStore(key)
	s := gorillaadapter.New(store, "app")
	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	w := httptest.NewRecorder()
	login := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "sid-1", LoginTime: time.Unix(1_700_000_000, 0)}
	b, err := s.Stash(w, r, login)
	if err != nil || b.LocalID == "" {
		t.Fatalf("Stash: %+v %v", b, err)
	}
	next := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range w.Result().Cookies() {
		next.AddCookie(c)
	}
	if got, ok := s.Lookup(next); !ok || got.LocalID != b.LocalID || got.SessionID != "sid-1" {
		t.Fatalf("Lookup: %+v %v", got, ok)
	}
	// A cookie session has no server-side data: deleting it is harmless.
	if err := s.(sessionadapter.Deleter).DeleteSession(context.Background(), b.LocalID); err != nil {
		t.Error(err)
	}
	end := httptest.NewRecorder()
	if err := s.End(end, next); err != nil {
		t.Fatal(err)
	}
	if c := end.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("End did not expire the cookie: %v", c)
	}
	if _, err := s.Stash(httptest.NewRecorder(), r, sessionadapter.Binding{Subject: "alice"}); err == nil {
		t.Error("Stash accepted a login without an issuer")
	}
}

// deleteFails is a FilesystemStore whose deletions (Save with a negative
// MaxAge, as DeleteSession does) fail: a disk or Redis error.
type deleteFails struct{ *sessions.FilesystemStore }

func (s deleteFails) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		return errors.New("store down")
	}
	return s.FilesystemStore.Save(r, w, sess)
}

// A Stash that fails leaves no session holding the login: Stash saves the
// login under a new ID, then deletes the pre-login session; when that
// deletion fails, Login reports the login failed and records no binding,
// so the response must not carry the cookie of a saved session that
// signs the user in anyway.
func TestStashFailureLeavesNoLoginSaved(t *testing.T) {
	dir := t.TempDir()
	fs := sessions.NewFilesystemStore(dir, key)
	s := gorillaadapter.New(deleteFails{fs}, "app")
	_, before := newFileSession(t, fs)

	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	r.AddCookie(before)
	w := httptest.NewRecorder()
	login := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "sid-1", LoginTime: time.Unix(1_700_000_000, 0)}
	if _, err := s.Stash(w, r, login); err == nil {
		t.Fatal("precondition: Stash reports the failed deletion")
	}
	next := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range w.Result().Cookies() {
		next.AddCookie(c)
	}
	if b, ok := s.Lookup(next); ok {
		t.Fatalf("Stash failed, yet the session it saved holds the login: %+v", b)
	}
}

// fileID returns the ID of the one session file in dir.
func fileID(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "session_*"))
	if err != nil || len(m) != 1 {
		t.Fatalf("session files %v (%v)", m, err)
	}
	return filepath.Base(m[0])[len("session_"):]
}

// A nil store (a nil pointer included: one assigned after the Config was
// built) or an empty session name is refused when the front door is built,
// not met by a panic in the guard's first request.
func TestNewRefusesNilStore(t *testing.T) {
	op := fakeop.New(t)
	var unset *sessions.CookieStore
	for name, s := range map[string]sessionadapter.Sessions{
		"nil store":        gorillaadapter.New(nil, "session"),
		"nil *CookieStore": gorillaadapter.New(unset, "session"),
		"no name":          gorillaadapter.New(sessions.NewCookieStore(make([]byte, 32)), ""),
	} {
		t.Run(name, func(t *testing.T) {
			logout, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s})
			if !errors.Is(err, bclogout.ErrInvalidConfig) {
				if err == nil {
					logout.Close(t.Context())
				}
				t.Fatalf("New: %v, want an error wrapping ErrInvalidConfig", err)
			}
		})
	}
}
