// Package testsessions is the smallest server-side session library, for
// the tests of modules that depend on neither scs nor gorilla: a cookie
// holds an ID, a map holds the login.
package testsessions

import (
	"crypto/rand"
	"net/http"
	"sync"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Sessions implements sessionadapter.Sessions in memory.
type Sessions struct {
	mu     sync.Mutex
	logins map[string]sessionadapter.Binding // as stashed: no ID token, no local ID
	fresh  map[*http.Request]string          // the session a request got at login
}

var _ sessionadapter.Sessions = (*Sessions)(nil)

// New returns empty Sessions.
func New() *Sessions {
	return &Sessions{logins: map[string]sessionadapter.Binding{}, fresh: map[*http.Request]string{}}
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

// Stash starts a new session holding the login b, with its cookie.
func (s *Sessions) Stash(w http.ResponseWriter, r *http.Request, b sessionadapter.Binding) (sessionadapter.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := rand.Text()
	s.fresh[r] = id
	s.logins[id] = sessionadapter.Binding{Issuer: b.Issuer, Subject: b.Subject, SessionID: b.SessionID, LoginTime: b.LoginTime}
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id})
	b.LocalID = id
	return b, nil
}

// Lookup returns the binding of the request's session.
func (s *Sessions) Lookup(r *http.Request) (sessionadapter.Binding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id(r)
	b, ok := s.logins[id]
	b.LocalID = id
	return b, ok
}

// End forgets the request's session and deletes its cookie.
func (s *Sessions) End(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.logins, s.id(r))
	http.SetCookie(w, &http.Cookie{Name: "session", MaxAge: -1})
	return nil
}
