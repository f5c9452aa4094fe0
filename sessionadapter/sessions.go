package sessionadapter

import "net/http"

// Sessions is what the bclogout front door needs of an app's session
// library: stash a login in the request's session, read it back, and end
// the session. The scsadapter and gorillaadapter packages provide one for
// alexedwards/scs and gorilla/sessions.
//
// An implementation that can also delete a session's data by its local ID
// implements [Deleter] too; the front door then deletes the data of the
// sessions a logout ends (hygiene: the revocation and the guard are what
// keep them ended).
type Sessions interface {
	// Stash records l in the request's session at login, renewing the
	// session's ID where the library can (a new ID at a privilege change
	// stops session fixation), and returns the session's binding.
	Stash(w http.ResponseWriter, r *http.Request, l Login) (Binding, error)
	// Lookup returns the binding Stash recorded in the request's session;
	// ok is false when the session holds none. A stashed login whose time
	// cannot be read back has a zero LoginTime, which the guard ends.
	Lookup(r *http.Request) (b Binding, ok bool)
	// End ends the request's session: its data and its cookie, so that the
	// rest of the request sees no session.
	End(w http.ResponseWriter, r *http.Request) error
}
