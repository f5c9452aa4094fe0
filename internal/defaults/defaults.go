// Package defaults holds the defaults that several packages share
// (sessionadapter, its Redis adapter, rp and the front door), so that each
// states the same value.
package defaults

import "time"

// SessionLifetime is how long a store keeps a binding whose Expires is
// zero, and how long a revoking ender keeps each revocation. It is
// gorilla/sessions' default MaxAge (30 days): forgetting a binding or a
// revocation while its session is still alive would let that session
// survive its logout, so the default errs long.
const SessionLifetime = 30 * 24 * time.Hour

// SIDClockSkew is how much later than a sid logout's iat a login of the
// same OP session may be dated and still be ended by it: the two iats
// come from the OP's clocks at different moments, often from different
// nodes of a clustered OP (ZITADEL dates logout tokens one second in the
// past), and an OP session's sid is never reused by a new one, so a login
// of that sid dated a little after its logout is the same session. It is
// rp's default clock skew.
const SIDClockSkew = time.Minute

// OPClockSkew is how far the OP's clock may be from this RP's: rp's
// default clock skew, within which a logout token's iat may lie in the
// future.
const OPClockSkew = time.Minute

// OPDate is the one clock rule for a revocation or a loss floor that has
// no OP date (a front-channel logout, which carries no iat; the instant a
// replica found that Redis lost its revocations): it dates t, an instant
// on this RP's clock, as the latest the OP's clock may read at t. Logins
// are dated by the OP (the ID token's iat), so an OP clock up to
// OPClockSkew ahead still finds every login before t revoked. The cost,
// failing closed: a login within OPClockSkew after t is revoked too, and
// the user signs in again.
func OPDate(t time.Time) time.Time { return t.Add(OPClockSkew) }

// BackChannelPath is where the back-channel logout endpoint is served when
// no path is given: rp.WithPath's default and bclogout's
// Config.BackChannelPath's.
const BackChannelPath = "/backchannel-logout"
