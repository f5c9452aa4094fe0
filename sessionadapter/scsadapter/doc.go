// Package scsadapter ends alexedwards/scs v2 sessions on OpenID Connect
// Back-Channel Logout 1.0 §2.7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions),
// whatever scs store keeps them: memstore, redisstore, postgresstore,
// mysqlstore, sqlite3store, … all go through the scs.Store interface.
//
// [New] gives a SessionManager as the bclogout front door's
// Config.Sessions. At login, after validating the ID token, its Stash
// renews the session token (as every scs login must, against session
// fixation), records the login in the session for the guard, and returns
// the binding to give the revoking ender's Bind, which refuses
// (sessionadapter.ErrRevoked) a login whose OP session was logged out
// while it was in flight; the local ID is the scs session token, known
// only once the token is renewed. At logout the revoking ender records a
// revocation, then its store deletes the session data through New's
// DeleteSession (a sessionadapter.Deleter), over the same scs.Store the
// SessionManager uses. On every request, middleware.Guard with New's
// Lookup ends a session whose login is not after a kept revocation, which
// catches a session that a request in flight saved again after its
// deletion. The guard reads the session, so it must run inside
// sm.LoadAndSave; End destroys a revoked session.
//
// The local ID is the token itself, the session's bearer credential (scs
// keeps no other ID): treat bindings, and logs or errors that name local
// IDs (a failed deletion, a logout whose sub does not match the session's),
// as you treat session cookies.
//
// This package depends on scs/v2 only: redisstore's redigo client is the
// user's choice and not required here.
package scsadapter
