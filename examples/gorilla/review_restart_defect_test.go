package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
)

// restartable serves the current instance of the app; restart replaces
// it by a new process's app with the same configuration (a deploy).
type restartable struct {
	mu  sync.RWMutex
	cur *app
}

func (s *restartable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	a := s.cur
	s.mu.RUnlock()
	a.ServeHTTP(w, r)
}

func (s *restartable) restart(t *testing.T, cfg config) {
	t.Helper()
	next, err := newApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	prev := s.cur
	s.cur = next
	s.mu.Unlock()
	if prev != nil {
		_ = prev.Close()
	}
}

// TestExampleDefectLogoutLostAcrossRestarts: the gorilla example's
// single-replica mode keeps sessions in files (persistent with
// -session-dir and SESSION_KEY, as anyone running it for real sets them)
// but the bindings (sessionadapter.Memory) and the revocations
// (MemoryRevocations) in process memory. After a restart the store knows
// no session, so an OP logout deletes nothing; the revocation is then the
// only thing keeping the user out. It used to be kept for a 5-minute
// window only, in memory: the next restart, or 5 minutes, and the
// logged-out session was signed in again. The example keeps revocations
// in a file beside the sessions, for the session lifetime.
func TestExampleDefectLogoutLostAcrossRestarts(t *testing.T) {
	op := fakeop.New(t)
	srv := &restartable{}
	var cfg config
	app := op.StartApp(t, fakeop.Client{ID: "app", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
		func(url string) (http.Handler, error) {
			cfg = config{Issuer: op.Issuer(), ClientID: "app", BaseURL: url,
				SessionDir: t.TempDir(), SessionKey: []byte("a fixed 32-byte session key....!")}
			srv.restart(t, cfg)
			return srv, nil
		})
	t.Cleanup(func() { _ = srv.cur.Close() })
	page := func(browser *http.Client) string {
		resp, err := browser.Get(app.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	browser := op.SignIn(t, app.URL+"/login", "alice")
	if !strings.Contains(page(browser), "Signed in as") {
		t.Fatal("precondition: alice is signed in")
	}
	srv.restart(t, cfg) // a deploy
	if !strings.Contains(page(browser), "Signed in as") {
		t.Fatal("precondition: sessions survive a restart")
	}
	op.SignOut(t, browser) // the OP ends alice's session; the app answers 200
	srv.restart(t, cfg)    // another deploy (or 5 minutes pass)
	if got := page(browser); !strings.Contains(got, "Signed out") {
		t.Errorf("after the OP's logout the app still shows %s", got)
	}
}
