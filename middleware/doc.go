// Package middleware puts the session guard and the logout notifier on
// net/http.
//
// The RP's backchannel_logout_uri (OpenID Connect Back-Channel Logout 1.0
// §2.5,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest)
// needs nothing of this package on any router: bclogout.RP's Endpoints
// (underneath, rp.Handler's Wrap) serves it ahead of the router and of
// every middleware, this package's guard included, since the OP's POST
// carries no cookie and no CSRF token. The guard is plain net/http
// middleware: chi takes it as it is, echo through echo.WrapMiddleware, gin
// through ginmw.Guard.
// Guard enforces, at request time, the logouts recorded as revocations,
// for every session store (§2.7,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions):
// a session whose login is not after a matching revocation is ended.
// Notifier tells a page open at the logout at once, over server-sent
// events.
package middleware
