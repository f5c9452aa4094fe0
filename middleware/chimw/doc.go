// Package chimw mounts a back-channel logout handler on a chi v5 router.
//
// OpenID Connect Back-Channel Logout 1.0 §2.5 has the OP POST the logout
// token to the RP's backchannel_logout_uri; Mount routes that path, for every
// method chi knows, to the handler, which answers non-POST methods itself.
//
// chi takes net/http middleware as is, so the session guard of package
// middleware needs no adapter: r.Use(guard). Keep CSRF protection and any
// guard that demands a logged-in user off the logout route: the OP's request
// carries no cookie and no CSRF token. Mount it on the root router and put
// those in a r.Group.
//
// Spec: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
package chimw
