// Package ginmw adapts the session guard to gin, in a package of its own so
// that only programs importing it depend on gin.
//
// The OP's requests need no adapter: bclogout.RP's Endpoints wraps the
// whole engine, and the server serves what it returns, so that the
// back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.5 has the
// OP POST the logout token to the RP's backchannel_logout_uri) is answered
// ahead of gin and of every gin middleware: no session loading, guard or
// CSRF check meets it. gin's Run serves the engine itself; serve it from an
// http.Server of the app's instead:
//
//	r := gin.New()
//	r.Use(ginmw.Guard(logout.Guard))
//	r.GET("/", home)
//	r.Any("/signout", gin.WrapH(logout.SignOut()))
//	srv := &http.Server{Addr: addr, Handler: logout.Endpoints(r)}
//
// Endpoints wraps the engine, so that no gin middleware runs before the
// OP's requests are answered.
//
// The sign-out route is a plain handler: gin.WrapH mounts it, on every
// method of its path with r.Any, so that it, not gin, answers a method it
// refuses with 405, Allow and Cache-Control: no-store. r.Any covers gin's
// list of methods; a request with another method (an extension method
// such as PURGE) gets gin's own answer, 404, or 405 with
// Engine.HandleMethodNotAllowed.
//
// Guard turns the net/http session guard into gin middleware.
//
// Spec: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
package ginmw
