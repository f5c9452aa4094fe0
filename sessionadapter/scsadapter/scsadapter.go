package scsadapter

import (
	"context"
	"fmt"
	"net/http"

	"github.com/alexedwards/scs/v2"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/stash"
	"github.com/bclogout/bclogout/sessionadapter/internal/valid"
)

// New returns sm as the bclogout front door's Config.Sessions: Stash
// renews the session token and stashes the login, Lookup reads it back,
// End destroys the session, and the data of a session a logout ends is
// deleted from sm.Store (any scs store). Every call needs the session
// loaded: mount the guard and the login callback inside sm.LoadAndSave.
// For a nil sm, New returns nil, which bclogout.New refuses (no Sessions):
// a manager assigned after the Config was built is caught at start-up,
// not by a panic in the guard's first request.
func New(sm *scs.SessionManager) sessionadapter.Sessions {
	if sm == nil {
		return nil
	}
	return sessions{sm}
}

type sessions struct{ sm *scs.SessionManager }

var (
	_ sessionadapter.Sessions = sessions{}
	_ sessionadapter.Deleter  = sessions{}
)

// Session keys of the stashed login: a string per claim and the login
// time as int64 unix milliseconds, which scs's default gob codec
// round-trips without registration; a JSON codec a user plugs into
// sm.Codec gives it back as float64 or json.Number, which Lookup reads.
const (
	keyIss = "bclogout.iss"
	keySub = "bclogout.sub"
	keySID = "bclogout.sid"
	keyIat = "bclogout.iat"
)

// Stash renews the token of the request's session (scs RenewToken: a
// login must change the token, against session fixation), records the
// login b in the session for Lookup, and returns b with LocalID set to the
// new token and Expires to the session's deadline, to give a
// sessionadapter.Store. The session is written to the store when the
// response is written, as any scs change.
func (s sessions) Stash(_ http.ResponseWriter, r *http.Request, b sessionadapter.Binding) (sessionadapter.Binding, error) {
	// Validate before touching the session: a bad login leaves it as it was.
	if err := valid.Login(b.Issuer, b.Subject, b.SessionID); err != nil {
		return sessionadapter.Binding{}, err
	}
	ctx := r.Context()
	if err := s.sm.RenewToken(ctx); err != nil {
		return sessionadapter.Binding{}, fmt.Errorf("scsadapter: renew session token: %w", err)
	}
	s.sm.Put(ctx, keyIss, b.Issuer)
	s.sm.Put(ctx, keySub, b.Subject)
	s.sm.Put(ctx, keySID, b.SessionID)
	s.sm.Put(ctx, keyIat, b.LoginTime.UnixMilli())
	b.LocalID, b.Expires = s.sm.Token(ctx), s.sm.Deadline(ctx)
	return b, nil
}

// Lookup reads back what Stash recorded in the request's session; ok is
// false when the session holds no stashed login. LocalID is the session's
// current token. The login time is read in any numeric form a codec gives
// back (int64 from gob; float64 or json.Number from a JSON codec; int; a
// decimal string). A stashed login whose time is missing or unreadable
// has a zero LoginTime, which middleware.Guard treats as ended (fail
// closed): read as 0 it would be a 1970 login that every later logout of
// the user revokes, and read as "no binding" it would escape the guard.
// The guard must run inside sm.LoadAndSave (mount it after); outside it
// scs panics, which a first request in development shows at once.
func (s sessions) Lookup(r *http.Request) (sessionadapter.Binding, bool) {
	ctx := r.Context()
	iss := s.sm.GetString(ctx, keyIss)
	if iss == "" {
		return sessionadapter.Binding{}, false
	}
	login, _ := stash.LoginTime(s.sm.Get(ctx, keyIat)) // zero if unreadable: the guard ends it
	return sessionadapter.Binding{
		Issuer:    iss,
		Subject:   s.sm.GetString(ctx, keySub),
		SessionID: s.sm.GetString(ctx, keySID),
		LocalID:   s.sm.Token(ctx),
		LoginTime: login,
		Expires:   s.sm.Deadline(ctx),
	}, true
}

// End destroys the request's session: its data is deleted from the store
// and the response (written by sm.LoadAndSave) expires the cookie.
func (s sessions) End(_ http.ResponseWriter, r *http.Request) error {
	if err := s.sm.Destroy(r.Context()); err != nil {
		return fmt.Errorf("scsadapter: destroy session: %w", err)
	}
	return nil
}

// DeleteSession deletes token's data from the manager's store as it is at
// the time of the call. Any scs store works, since scs.Store requires
// Delete; a store that also implements scs.CtxStore is called with the
// logout's context. Deleting a token that is not there is a no-op, as
// scs.Store requires.
func (s sessions) DeleteSession(ctx context.Context, token string) error {
	if s.sm.Store == nil {
		return errs.Config("scsadapter", "nil scs.Store")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if cs, ok := s.sm.Store.(scs.CtxStore); ok {
		err = cs.DeleteCtx(ctx, token)
	} else {
		err = s.sm.Store.Delete(token)
	}
	if err != nil {
		return fmt.Errorf("scsadapter: delete session: %w", err)
	}
	return nil
}
