package sessionadapter

import "net/http"

// Sessions is what the bclogout front door needs of an app's session
// library: stash a login's binding in the request's session, read it
// back, and end the session. The scsadapter and gorillaadapter packages provide one for
// alexedwards/scs and gorilla/sessions.
//
// An implementation that can also delete a session's data by its local ID
// implements [Deleter] too; the front door then deletes the data of the
// sessions a logout ends (hygiene: the revocation and the guard are what
// keep them ended).
type Sessions interface {
	// Stash records the login b (Issuer, Subject, SessionID and LoginTime,
	// as rp's Verifier.VerifyIDToken returns them) in the request's
	// session, renewing the session's ID where the library can (a new ID
	// at a privilege change stops session fixation), and returns b with
	// LocalID set to the session's ID and Expires to its deadline when the
	// library knows it. The raw IDToken is passed through in the result,
	// never written to the session (a cookie session stays small).
	Stash(w http.ResponseWriter, r *http.Request, b Binding) (Binding, error)
	// Lookup returns the binding Stash recorded in the request's session;
	// ok is false when the session holds none. A stashed login whose time
	// cannot be read back has a zero LoginTime, which the guard ends.
	Lookup(r *http.Request) (b Binding, ok bool)
	// End ends the request's session: its data and its cookie, so that the
	// rest of the request sees no session.
	End(w http.ResponseWriter, r *http.Request) error
}
