package gorillaadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Errors this package reports.
var (
	// ErrInvalidID means a session ID cannot name a FilesystemStore file
	// (empty, a path, "." or ".."): it is refused rather than resolved.
	ErrInvalidID = errors.New("gorillaadapter: invalid session id")
	// ErrNoSessionID means a session has no ID yet: bind it after Save.
	ErrNoSessionID = errors.New("gorillaadapter: session has no id; bind after saving it")
	// ErrInvalidConfig means a constructor was given a missing argument.
	ErrInvalidConfig = errors.New("gorillaadapter: invalid configuration")
)

// fileStorePrefix is the name FilesystemStore gives a session's file,
// before the ID (gorilla/sessions store.go).
const fileStorePrefix = "session_"

// FilesystemDeleter returns a Deleter that removes the file of a gorilla
// FilesystemStore session kept in dir (the path given to
// sessions.NewFilesystemStore; "" there means os.TempDir()). IDs that are
// not plain file names fail with ErrInvalidID, and removal goes through an
// os.Root, so no ID can reach outside dir. A missing file is not an error.
func FilesystemDeleter(dir string) (sessionadapter.Deleter, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrInvalidConfig)
	}
	return sessionadapter.DeleterFunc(func(ctx context.Context, id string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`+"\x00") {
			return fmt.Errorf("%w: %q", ErrInvalidID, id)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return fmt.Errorf("gorillaadapter: open session directory: %w", err)
		}
		defer root.Close()
		if err := root.Remove(fileStorePrefix + id); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("gorillaadapter: delete session %q: %w", id, err)
		}
		return nil
	}), nil
}

// Bind records, in store, the binding of a server-side session s that was
// just created at login and saved (so it has its ID), for the login l
// (sessionadapter.LoginFromIDToken). The binding expires with the
// session's MaxAge; a MaxAge <= 0 leaves the store's default.
func Bind(ctx context.Context, store sessionadapter.Store, s *sessions.Session, l sessionadapter.Login) error {
	if s == nil || s.ID == "" {
		return ErrNoSessionID
	}
	var expires time.Time
	if s.Options != nil && s.Options.MaxAge > 0 {
		expires = time.Now().Add(time.Duration(s.Options.MaxAge) * time.Second)
	}
	return store.Bind(ctx, l.Binding(s.ID, expires))
}

// Session value names for the stashed claims: plain strings and int64,
// which the gob codec of securecookie encodes without registration.
const (
	keyIss = "bclogout.iss"
	keySub = "bclogout.sub"
	keySID = "bclogout.sid"
	keyIat = "bclogout.iat" // unix milliseconds
	keyLID = "bclogout.lid" // the local ID of a session without one of its own
)

// Stash records the login l (sessionadapter.LoginFromIDToken) in the
// values of a cookie session at login, for Lookup to read back on every
// request. Save the session afterwards. A cookie
// session has no ID of its own (its data lives only in the browser), so
// Stash gives it a random one: the binding then names the session in logs
// and hooks like a server-side one.
func Stash(s *sessions.Session, l sessionadapter.Login) {
	s.Values[keyIss] = l.Issuer
	s.Values[keySub] = l.Subject
	s.Values[keySID] = l.SessionID
	s.Values[keyIat] = l.IssuedAt.UnixMilli()
	if s.ID == "" {
		s.Values[keyLID] = rand.Text()
	}
}

// BindingOf reads back what Stash recorded; ok is false if s holds no
// stashed issuer. The login time is read in any numeric form a session
// serializer gives back: int64 from gob, float64 or json.Number from JSON
// (securecookie.JSONEncoder, redistore's JSON serializer), int, or a
// decimal string. A stashed login whose time is missing or unreadable has
// a zero LoginTime, which middleware.Guard treats as ended (fail closed):
// read as 0 it would be a 1970 login that every later logout of the user
// revokes, and read as "no binding" it would escape the guard.
func BindingOf(s *sessions.Session) (b sessionadapter.Binding, ok bool) {
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
	login, _ := sessionadapter.StashedLoginTime(s.Values[keyIat]) // zero if unreadable: the guard ends it
	return sessionadapter.Binding{
		Issuer: iss, Subject: sub, SessionID: sid, LocalID: lid,
		LoginTime: login,
	}, true
}

// Lookup returns the lookup function of middleware.Guard for the session
// called name in store: a request whose session cannot be decoded, is new,
// or holds no stashed claims has no binding and passes the guard.
func Lookup(store sessions.Store, name string) func(r *http.Request) (sessionadapter.Binding, bool) {
	return func(r *http.Request) (sessionadapter.Binding, bool) {
		s, err := store.Get(r, name)
		if err != nil || s == nil || s.IsNew {
			return sessionadapter.Binding{}, false
		}
		return BindingOf(s)
	}
}

// End ends the session called name for the browser: it clears its values
// and saves it with a negative MaxAge, which deletes the cookie (and, for
// server-side stores, the stored data). For middleware.WithOnRevoked.
func End(w http.ResponseWriter, r *http.Request, store sessions.Store, name string) error {
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
