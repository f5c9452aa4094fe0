// Package echomw mounts the back-channel logout handler on echo v4, in a
// package of its own so that only programs importing it depend on echo.
//
// OpenID Connect Back-Channel Logout 1.0 §2.5 has the OP POST the logout
// token to the RP's backchannel_logout_uri; Mount routes that path, for every
// method, to the handler, which answers non-POST methods itself. The
// session guard, a net/http middleware, goes on the app's routes through
// echo's own adapter: e.Group("", echo.WrapMiddleware(guard)).
//
// Keep CSRF protection and any guard that demands a logged-in user off the
// logout route: the OP's request carries no cookie and no CSRF token. Mount
// it on the Echo itself and use those in an echo.Group (or give them a
// Skipper).
//
// Spec: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
package echomw
