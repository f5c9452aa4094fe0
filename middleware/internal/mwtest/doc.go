// Package mwtest holds what the tests of middleware, chimw and echomw
// share: a stand-in for the logout handler that answers every method as
// OpenID Connect Back-Channel Logout 1.0 §2.5 requires
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest),
// a real Guard over one revoked session (§2.7), and the routing check every
// router adapter must pass.
package mwtest
