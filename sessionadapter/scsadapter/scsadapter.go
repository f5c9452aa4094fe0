package scsadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bclogout/bclogout/sessionadapter"
)

// ErrInvalidConfig means a function was given a nil SessionManager or
// store.
var ErrInvalidConfig = errors.New("scsadapter: invalid configuration")

// Session keys of the stashed login: a string per claim and the login
// time as int64 unix milliseconds, which scs's default gob codec
// round-trips without registration; a JSON codec a user plugs into
// sm.Codec gives it back as float64 or json.Number, which BindingOf reads.
const (
	keyIss = "bclogout.iss"
	keySub = "bclogout.sub"
	keySID = "bclogout.sid"
	keyIat = "bclogout.iat"
)

// Stash renews the token of the session in ctx (scs RenewToken: a login
// must change the token, against session fixation), records l in the
// session for Lookup, and returns the Binding to give a
// sessionadapter.Store: LocalID is the new token, Expires the session's
// deadline. Call it in the login callback, inside sm.LoadAndSave, once
// the ID token is validated (l from sessionadapter.LoginFromIDToken).
// The session is written to the store when the callback's response is
// written, as any scs change.
func Stash(ctx context.Context, sm *scs.SessionManager, l sessionadapter.Login) (sessionadapter.Binding, error) {
	if sm == nil {
		return sessionadapter.Binding{}, fmt.Errorf("%w: nil SessionManager", ErrInvalidConfig)
	}
	// Validate before touching the session: a bad login leaves it as it was.
	if err := l.Binding("-", time.Time{}).Validate(); err != nil {
		return sessionadapter.Binding{}, err
	}
	if err := sm.RenewToken(ctx); err != nil {
		return sessionadapter.Binding{}, fmt.Errorf("scsadapter: renew session token: %w", err)
	}
	sm.Put(ctx, keyIss, l.Issuer)
	sm.Put(ctx, keySub, l.Subject)
	sm.Put(ctx, keySID, l.SessionID)
	sm.Put(ctx, keyIat, l.IssuedAt.UnixMilli())
	return l.Binding(sm.Token(ctx), sm.Deadline(ctx)), nil
}

// BindingOf reads back what Stash recorded in the session of ctx; ok is
// false when the session holds no stashed login. LocalID is the session's
// current token. The login time is read in any numeric form a codec gives
// back (int64 from gob; float64 or json.Number from a JSON codec; int; a
// decimal string). A stashed login whose time is missing or unreadable
// has a zero LoginTime, which middleware.Guard treats as ended (fail
// closed): read as 0 it would be a 1970 login that every later logout of
// the user revokes, and read as "no binding" it would escape the guard.
func BindingOf(ctx context.Context, sm *scs.SessionManager) (b sessionadapter.Binding, ok bool) {
	iss := sm.GetString(ctx, keyIss)
	if iss == "" {
		return sessionadapter.Binding{}, false
	}
	login, _ := sessionadapter.StashedLoginTime(sm.Get(ctx, keyIat)) // zero if unreadable: the guard ends it
	return sessionadapter.Binding{
		Issuer:    iss,
		Subject:   sm.GetString(ctx, keySub),
		SessionID: sm.GetString(ctx, keySID),
		LocalID:   sm.Token(ctx),
		LoginTime: login,
		Expires:   sm.Deadline(ctx),
	}, true
}

// Lookup returns the lookup function of middleware.Guard for sm: the
// binding stashed in the request's session, if any. The guard must run
// inside sm.LoadAndSave (mount it after), since the session is read from
// the request's context; outside it scs panics, which a first request in
// development shows at once.
func Lookup(sm *scs.SessionManager) func(r *http.Request) (sessionadapter.Binding, bool) {
	return func(r *http.Request) (sessionadapter.Binding, bool) { return BindingOf(r.Context(), sm) }
}

// End destroys the request's session: its data is deleted from the store
// and the response (written by sm.LoadAndSave) expires the cookie. For
// middleware.WithOnRevoked.
func End(r *http.Request, sm *scs.SessionManager) error {
	if err := sm.Destroy(r.Context()); err != nil {
		return fmt.Errorf("scsadapter: destroy session: %w", err)
	}
	return nil
}

// Deleter returns a sessionadapter.Deleter that deletes a session's data
// from store by token: give it the store of the SessionManager (sm.Store).
// Any scs store works, since scs.Store requires Delete; a store that also
// implements scs.CtxStore is called with the logout's context. Deleting a
// token that is not there is a no-op, as scs.Store requires.
func Deleter(store scs.Store) (sessionadapter.Deleter, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil scs.Store", ErrInvalidConfig)
	}
	return sessionadapter.DeleterFunc(func(ctx context.Context, token string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if cs, ok := store.(scs.CtxStore); ok {
			err = cs.DeleteCtx(ctx, token)
		} else {
			err = store.Delete(token)
		}
		if err != nil {
			return fmt.Errorf("scsadapter: delete session: %w", err)
		}
		return nil
	}), nil
}
