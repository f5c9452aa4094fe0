// Package gorillaadapter ends gorilla/sessions sessions on OpenID Connect
// Back-Channel Logout 1.0 §2.7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions).
//
// Server-side stores: bind each session at login with Bind, into a
// sessionadapter.Store. FilesystemStore's files are deleted through
// FilesystemDeleter (give it to sessionadapter.NewMemory with
// sessionadapter.WithDeleter). Redis-backed gorilla stores are ended by
// redisadapter with their key format, e.g. redisadapter.WithSessionKey
// ("session_%s") for boj/redistore.
//
// CookieStore keeps session data in the browser, where the server cannot
// delete it. Stash the login (sessionadapter.LoginFromIDToken, from the
// verified ID token) in the session at login; the
// back-channel logout handler records revocations through a
// sessionadapter.RevokingEnder, and middleware.Guard, given Lookup, ends
// the revoked sessions at their next request (End clears the cookie).
package gorillaadapter
