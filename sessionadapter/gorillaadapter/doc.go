// Package gorillaadapter ends gorilla/sessions sessions on OpenID Connect
// Back-Channel Logout 1.0 §2.7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions).
//
// [New] gives the session called name in a gorilla store as the bclogout
// front door's Config.Sessions. Every store follows one model (see the
// sessionadapter package): at login, Stash records the login (from the
// verified ID token) in the session and saves it; the back-channel logout
// handler's revoking ender records each logout as a revocation; and
// middleware.Guard, given Lookup, ends a revoked session at its next
// request (End clears it), even one a request in flight wrote back after
// its deletion.
//
// Server-side stores also bind each saved session through the revoking
// ender, whose Bind refuses a login older than its logout
// (sessionadapter.ErrRevoked) and whose store deletes the data at logout
// through New's DeleteSession
// (a sessionadapter.Deleter): FilesystemStore files and redistore keys
// alike. Redis-backed gorilla stores can also be ended by redisadapter
// with their key format, e.g. redisadapter.WithSessionKey("session_%s")
// for boj/redistore.
//
// CookieStore keeps session data in the browser, where the server cannot
// delete it: the revocation, kept for the session lifetime, and the guard
// are what end it.
package gorillaadapter
