package gorillaadapter

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/logid"
	"github.com/bclogout/bclogout/sessionadapter/internal/valid"
)

// New returns the session called name in store as the bclogout front
// door's Config.Sessions, for any gorilla store: CookieStore,
// FilesystemStore, and Redis- or database-backed stores such as
// boj/redistore.
//
// Stash gives a server-side session a new ID at login (deleting the old
// one's data), so that an ID fixed before the login is worth nothing after
// it, stashes the login and saves the session (so bclogout's Login saves
// it: set the app's own values in the session before, or Save again
// after); Lookup reads it back; End
// clears the session and expires its cookie (and its stored data). The
// data of a session a logout ends is deleted the way the store deletes an
// expired session: Save with a negative MaxAge, which removes a
// FilesystemStore file or a redistore key and is harmless for a
// CookieStore, whose data lives only in the browser.
//
// For a nil store (a nil pointer included) or an empty name, New returns
// nil, which bclogout.New refuses (no Sessions): a store assigned after
// the Config was built is caught at start-up, not by a panic in the
// guard's first request.
func New(store sessions.Store, name string) sessionadapter.Sessions {
	if v := reflect.ValueOf(store); name == "" || !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return nil
	}
	return gorillaSessions{store: store, name: name}
}

type gorillaSessions struct {
	store sessions.Store
	name  string
}

var (
	_ sessionadapter.Sessions = gorillaSessions{}
	_ sessionadapter.Deleter  = gorillaSessions{}
)

func (g gorillaSessions) Stash(w http.ResponseWriter, r *http.Request, b sessionadapter.Binding) (sessionadapter.Binding, error) {
	// Validate before touching the session: a bad login leaves it as it was.
	if err := valid.Login(b.Issuer, b.Subject, b.SessionID); err != nil {
		return sessionadapter.Binding{}, err
	}
	s, err := g.store.Get(r, g.name)
	if s == nil {
		return sessionadapter.Binding{}, fmt.Errorf("gorillaadapter: load session: %w", err)
	}
	// The pre-login ID's data goes first: a failure then leaves nothing
	// saved, rather than a signed-in session behind an error.
	if s.ID != "" {
		if err := g.DeleteSession(r.Context(), s.ID); err != nil {
			return sessionadapter.Binding{}, err
		}
	}
	s.ID = "" // a server-side store gives the saved session a new ID
	stashLogin(s, b)
	if err := s.Save(r, w); err != nil {
		return sessionadapter.Binding{}, fmt.Errorf("gorillaadapter: save session: %w", err)
	}
	saved, _ := bindingOf(s)
	b.LocalID = saved.LocalID
	if s.Options != nil && s.Options.MaxAge > 0 {
		b.Expires = time.Now().Add(time.Duration(s.Options.MaxAge) * time.Second)
	}
	return b, nil
}

func (g gorillaSessions) Lookup(r *http.Request) (sessionadapter.Binding, bool) {
	return lookup(g.store, g.name, r)
}

func (g gorillaSessions) End(w http.ResponseWriter, r *http.Request) error {
	return end(w, r, g.store, g.name)
}

// DeleteSession deletes the stored data of the session id. IDs that are
// not plain names (empty, ".", "..", or with a path separator or NUL) are
// refused with an error, so no ID can reach outside a FilesystemStore's
// directory.
func (g gorillaSessions) DeleteSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`+"\x00") {
		return fmt.Errorf("%w: %q", errInvalidID, id)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return err
	}
	s := sessions.NewSession(g.store, g.name)
	s.ID = id
	s.Options = &sessions.Options{Path: "/", MaxAge: -1}
	if err := g.store.Save(r, discard{}, s); err != nil {
		// Named by a hash: logs and OnReject get this error, and the ID
		// is the stored session's name.
		return fmt.Errorf("gorillaadapter: delete session %s: %w", logid.Of(id), err)
	}
	return nil
}

// discard is the response of a deletion no browser sees: the expired
// cookie that Save sets goes nowhere.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
