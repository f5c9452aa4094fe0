// Package middleware puts the session guard and the logout notifier on
// net/http (chimw and echomw mount the back-channel logout handler on chi
// and echo).
//
// On net/http the RP's backchannel_logout_uri (OpenID Connect
// Back-Channel Logout 1.0 §2.5,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest)
// needs nothing of this package: mux.Handle(path, handler), a pattern
// without a method, routes every method to the handler, which answers all
// but POST with its own 405 and Cache-Control: no-store.
// Guard enforces, at request time, the logouts recorded as revocations,
// for every session store (§2.7,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions):
// a session whose login is not after a matching revocation is ended.
// Notifier tells a page open at the logout at once, over server-sent
// events.
package middleware
