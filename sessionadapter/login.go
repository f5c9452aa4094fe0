package sessionadapter

import "time"

// Login is what an app learns at login, from the ID token it just
// validated, to tie its session to the OP's: the binding the guard checks
// and a store indexes. rp's Verifier.VerifyIDToken reads it from the raw
// ID token (the front door's Login does).
type Login struct {
	// Issuer is the ID token's iss claim.
	Issuer string
	// Subject is the ID token's sub claim.
	Subject string
	// SessionID is the ID token's sid claim (Back-Channel Logout §2.1);
	// empty when the OP sends none, and then only sub-scoped logouts find
	// the session.
	SessionID string
	// IssuedAt is the ID token's iat claim: the login time on the OP's
	// clock, compared with a logout token's iat (also the OP's clock), so
	// clock skew between OP and RP does not matter.
	IssuedAt time.Time
}

// Binding returns the Binding of the local session localID for this login,
// expiring at expires (zero: the store's default lifetime).
func (l Login) Binding(localID string, expires time.Time) Binding {
	return Binding{
		Issuer: l.Issuer, Subject: l.Subject, SessionID: l.SessionID,
		LocalID: localID, LoginTime: l.IssuedAt, Expires: expires,
	}
}
