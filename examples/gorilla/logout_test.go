package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
)

// TestLogoutWorks: the OP ends the session, the next request is signed out.
func TestLogoutWorks(t *testing.T) {
	op := fakeop.New(t)
	app := op.StartApp(t, fakeop.Client{ID: "app", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
		func(url string) (http.Handler, error) {
			return newApp(t.Context(), config{Issuer: op.Issuer(), ClientID: "app", BaseURL: url})
		})
	browser := op.SignIn(t, app.URL+"/login", "alice") // through the app's login route
	op.SignOut(t, browser)                             // the OP's "sign out everywhere"
	resp, err := browser.Get(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	if page, _ := io.ReadAll(resp.Body); !strings.Contains(string(page), "Signed out") {
		t.Errorf("after the OP's logout the app shows %s", page)
	}
}

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

// TestLogoutSurvivesRestarts: in single-replica mode with persistent
// sessions (-session-dir and SESSION_KEY, as anyone running the example
// for real sets them) the bindings live in process memory, so after a
// restart an OP logout deletes nothing and the revocation alone keeps the
// user out. The example keeps revocations in a file beside the sessions,
// for the session lifetime, so a logout holds across later restarts.
func TestLogoutSurvivesRestarts(t *testing.T) {
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
