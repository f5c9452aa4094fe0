// Package ginmw adapts the session guard to gin, in a package of its own so
// that only programs importing it depend on gin.
//
// The library's routes need no adapter: gin.WrapH mounts them, on every
// method of their path with r.Any, so that they, not gin, answer a GET with
// 405, Allow: POST and Cache-Control: no-store (OpenID Connect Back-Channel
// Logout 1.0 §2.5 has the OP POST the logout token to the RP's
// backchannel_logout_uri):
//
//	r.Any("/backchannel-logout", gin.WrapH(logout.BackChannel()))
//	r.Any("/signout", gin.WrapH(logout.SignOut()))
//
// r.Any covers gin's list of methods; a request with another method (an
// extension method such as PURGE) gets gin's own answer, 404, or 405 with
// Engine.HandleMethodNotAllowed.
//
// Guard turns the net/http session guard into gin middleware. Keep CSRF
// protection and any guard that demands a logged-in user off the logout
// route: the OP's request carries no cookie and no CSRF token. Use them on a
// RouterGroup of the app's routes.
//
// Spec: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
package ginmw
