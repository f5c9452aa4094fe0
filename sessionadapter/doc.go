// Package sessionadapter ends the local sessions that a validated logout
// token names, as required by OpenID Connect Back-Channel Logout 1.0 §2.7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions).
//
// At login an app records a [Binding] (issuer, subject, sid, login time and
// local session ID, straight from the ID token's claims) with [Store.Bind].
// At logout the handler calls [Ender.EndSessions] with the token's claims;
// a local logout calls [Store.Unbind]. Sessions are always scoped by issuer:
//
//   - a sid ends the local sessions bound to that OP session;
//   - a sub alone ends every session of that user at that issuer;
//   - [WithEndAllUserSessions] ends all of the user's sessions even when a
//     sid is given (Keycloak's "log out all sessions" sends one token with
//     one sid for several RP sessions);
//   - a sid-scoped token that also carries a sub only ends bindings whose
//     stored sub matches (when both are known); a mismatch is logged at
//     Warn and ends nothing.
//
// [NewMemory] keeps the indexes in process memory, for one replica; the
// redisadapter package shares them between replicas through Redis. Both
// find the sessions through per-(iss,sid) and per-(iss,sub) indexes, never
// by scanning all sessions.
//
// Cookie sessions, whose data lives only in the browser, cannot be deleted
// server-side. For them [Revocations] records the logout (§2.7: "for at
// least the session lifetime"), [RevokingEnder] turns that into an [Ender],
// and the middleware package's Guard ends, at request time, any session
// whose login time is not after a matching revocation.
package sessionadapter
