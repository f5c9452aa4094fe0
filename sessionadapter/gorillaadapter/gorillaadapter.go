package gorillaadapter

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/stash"
)

// errInvalidID means a session ID cannot name a FilesystemStore file
// (empty, a path, "." or ".."): DeleteSession refuses it rather than
// resolve it. The pipeline that calls DeleteSession logs it; no caller
// branches on it.
var errInvalidID = errors.New("gorillaadapter: invalid session id")

// Session value names for the stashed claims: plain strings and int64,
// which the gob codec of securecookie encodes without registration.
const (
	keyIss = "bclogout.iss"
	keySub = "bclogout.sub"
	keySID = "bclogout.sid"
	keyIat = "bclogout.iat" // unix milliseconds
	keyLID = "bclogout.lid" // the local ID of a session without one of its own
)

// stashLogin records the login b in the values of s, for bindingOf to
// read back on every request. A cookie session has no ID of its own (its
// data lives only in the browser), so it is given a random one: the
// binding then names the session in logs and hooks like a server-side one.
func stashLogin(s *sessions.Session, b sessionadapter.Binding) {
	s.Values[keyIss] = b.Issuer
	s.Values[keySub] = b.Subject
	s.Values[keySID] = b.SessionID
	s.Values[keyIat] = b.LoginTime.UnixMilli()
	if s.ID == "" {
		s.Values[keyLID] = rand.Text()
	}
}

// bindingOf reads back what stashLogin recorded; ok is false if s holds no
// stashed issuer. The login time is read in any numeric form a session
// serializer gives back: int64 from gob, float64 or json.Number from JSON
// (securecookie.JSONEncoder, redistore's JSON serializer), int, or a
// decimal string. A stashed login whose time is missing or unreadable has
// a zero LoginTime, which middleware.Guard treats as ended (fail closed):
// read as 0 it would be a 1970 login that every later logout of the user
// revokes, and read as "no binding" it would escape the guard.
func bindingOf(s *sessions.Session) (b sessionadapter.Binding, ok bool) {
	iss, _ := s.Values[keyIss].(string)
	if iss == "" {
		return sessionadapter.Binding{}, false
	}
	sub, _ := s.Values[keySub].(string)
	sid, _ := s.Values[keySID].(string)
	lid := s.ID
	if lid == "" {
		lid, _ = s.Values[keyLID].(string)
	}
	login, _ := stash.LoginTime(s.Values[keyIat]) // zero if unreadable: the guard ends it
	return sessionadapter.Binding{
		Issuer: iss, Subject: sub, SessionID: sid, LocalID: lid,
		LoginTime: login,
	}, true
}

// lookup reads the binding of the session called name in store: a request
// whose session cannot be decoded, is new, or holds no stashed claims has
// no binding and passes the guard.
func lookup(store sessions.Store, name string, r *http.Request) (sessionadapter.Binding, bool) {
	s, err := store.Get(r, name)
	if err != nil || s == nil || s.IsNew {
		return sessionadapter.Binding{}, false
	}
	return bindingOf(s)
}

// end ends the session called name for the browser: it clears its values
// and saves it with a negative MaxAge, which deletes the cookie (and, for
// server-side stores, the stored data).
func end(w http.ResponseWriter, r *http.Request, store sessions.Store, name string) error {
	s, err := store.Get(r, name)
	if s == nil {
		return fmt.Errorf("gorillaadapter: end session: %w", err)
	}
	clear(s.Values)
	opts := sessions.Options{MaxAge: -1, Path: "/"}
	if s.Options != nil {
		opts = *s.Options
		opts.MaxAge = -1
	}
	s.Options = &opts
	return s.Save(r, w)
}
