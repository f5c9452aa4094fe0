package scsadapter

import (
	"context"
	"net/http"

	"github.com/alexedwards/scs/v2"

	"github.com/bclogout/bclogout/sessionadapter"
)

// New returns sm as the bclogout front door's Config.Sessions: Stash
// renews the session token and stashes the login, Lookup reads it back,
// End destroys the session, and the data of a session a logout ends is
// deleted from sm.Store (any scs store). Every call needs the session
// loaded: mount the guard and the login callback inside sm.LoadAndSave.
func New(sm *scs.SessionManager) sessionadapter.Sessions {
	return sessions{sm}
}

type sessions struct{ sm *scs.SessionManager }

var (
	_ sessionadapter.Sessions = sessions{}
	_ sessionadapter.Deleter  = sessions{}
)

func (s sessions) Stash(_ http.ResponseWriter, r *http.Request, l sessionadapter.Login) (sessionadapter.Binding, error) {
	return Stash(r.Context(), s.sm, l)
}

func (s sessions) Lookup(r *http.Request) (sessionadapter.Binding, bool) {
	return BindingOf(r.Context(), s.sm)
}

func (s sessions) End(_ http.ResponseWriter, r *http.Request) error {
	return End(r, s.sm)
}

// DeleteSession deletes token's data from the manager's store as it is at
// the time of the call.
func (s sessions) DeleteSession(ctx context.Context, token string) error {
	d, err := Deleter(s.sm.Store)
	if err != nil {
		return err
	}
	return d.DeleteSession(ctx, token)
}
