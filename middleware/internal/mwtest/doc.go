// Package mwtest holds the routing check of middleware's tests: a
// stand-in for the logout handler that answers every method as OpenID
// Connect Back-Channel Logout 1.0 §2.5 requires
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest),
// and a table of requests with who must answer each, the handler or the
// router.
package mwtest
