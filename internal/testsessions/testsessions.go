// Package testsessions is the smallest server-side session library, for
// the tests of modules that depend on neither scs nor gorilla: a cookie
// holds an ID, a map holds the login.
package testsessions

import (
	"crypto/rand"
	"net/http"
	"sync"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Sessions implements sessionadapter.Sessions in memory.
type Sessions struct {
	mu     sync.Mutex
	logins map[string]sessionadapter.Login
	fresh  map[*http.Request]string // the session a request got at login
}

var _ sessionadapter.Sessions = (*Sessions)(nil)

// New returns empty Sessions.
func New() *Sessions {
	return &Sessions{logins: map[string]sessionadapter.Login{}, fresh: map[*http.Request]string{}}
}

func (s *Sessions) id(r *http.Request) string {
	if id, ok := s.fresh[r]; ok {
		return id
	}
	if c, err := r.Cookie("session"); err == nil {
		return c.Value
	}
	return ""
}

// Stash starts a new session holding l, with its cookie.
func (s *Sessions) Stash(w http.ResponseWriter, r *http.Request, l sessionadapter.Login) (sessionadapter.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := rand.Text()
	s.fresh[r] = id
	s.logins[id] = l
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id})
	return l.Binding(id, time.Time{}), nil
}

// Lookup returns the binding of the request's session.
func (s *Sessions) Lookup(r *http.Request) (sessionadapter.Binding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id(r)
	l, ok := s.logins[id]
	return l.Binding(id, time.Time{}), ok
}

// End forgets the request's session and deletes its cookie.
func (s *Sessions) End(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.logins, s.id(r))
	http.SetCookie(w, &http.Cookie{Name: "session", MaxAge: -1})
	return nil
}
