package gorillaadapter_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
)

// deleteFails is a FilesystemStore whose deletions (Save with a negative
// MaxAge, as DeleteSession does) fail: a disk or Redis error.
type deleteFails struct{ *sessions.FilesystemStore }

func (s deleteFails) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		return errors.New("store down")
	}
	return s.FilesystemStore.Save(r, w, sess)
}

// TestReviewStashErrorLeavesLoginSaved: New's Stash saves the session
// with the login under its new ID, then deletes the pre-login ID; when
// that deletion fails it returns the error, so bclogout's Login reports
// the login failed, yet the response already carries the cookie of a
// saved session holding the login: the user is signed in by a "failed"
// login whose binding was never recorded.
func TestReviewStashErrorLeavesLoginSaved(t *testing.T) {
	dir := t.TempDir()
	fs := sessions.NewFilesystemStore(dir, key)
	s := gorillaadapter.New(deleteFails{fs}, "app")
	_, before := newFileSession(t, fs)

	r := httptest.NewRequest(http.MethodGet, "/callback", nil)
	r.AddCookie(before)
	w := httptest.NewRecorder()
	login := sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "sid-1", IssuedAt: time.Unix(1_700_000_000, 0)}
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
