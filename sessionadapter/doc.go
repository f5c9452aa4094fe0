// Package sessionadapter ends the local sessions that a validated logout
// token names, as required by OpenID Connect Back-Channel Logout 1.0 §2.7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions).
//
// At login an app records a [Binding] (issuer, subject, sid, login time and
// local session ID) with [Store.Bind]; rp's Verifier.VerifyIDToken reads
// the first four from the raw ID token, and [Sessions.Stash] adds the
// local ID.
// At logout the handler calls [Ender.EndSessions] with the token's claims;
// a local logout calls [Store.Unbind]. Sessions are always scoped by issuer:
//
//   - a sid ends the local sessions bound to that OP session;
//   - a sub alone ends every session of that user at that issuer;
//   - a sid-scoped token that also carries a sub only ends bindings whose
//     stored sub matches (when both are known); a mismatch is logged at
//     Warn and ends nothing.
//
// [NewMemory] keeps the indexes in process memory, for one replica; the
// redisadapter package shares them between replicas through Redis. Both
// find the sessions through per-(iss,sid) and per-(iss,sub) indexes, never
// by scanning all sessions.
//
// # Keeping a session ended
//
// Deleting a session is not enough to keep it ended. A request that
// loaded the session before the logout and saves it afterwards writes it
// back (race (a)); a login callback whose ID token was issued before the
// logout binds its session after it (race (b)). And cookie sessions,
// whose data lives only in the browser, cannot be deleted at all. So every
// logout is also recorded as a revocation (iss+sid or iss+sub, at the
// token's iat), and the middleware package's Guard checks every request
// against the revocations: a session whose login time is not after a
// matching revocation is ended. [NewRevokingEnder] does both: it records the
// revocation in a [Revocations], then, given [WithStore], ends the bound
// server-side sessions; its Bind refuses a late login with [ErrRevoked].
//
// A revocation is kept for the session lifetime ([WithSessionLifetime]),
// whatever the store: the revocation is the security boundary, deleting
// session data is hygiene. Deletion only reaches the sessions the store's
// bindings name, and they often miss some: a token renewed after login
// (scs RenewToken), bindings kept in process memory and lost on a restart
// while the sessions persist on disk or in a database, a session whose
// expiry slides past its binding's. The cost is memory: about 200 bytes
// per revocation in memory ([NewMemoryRevocations], measured by
// BenchmarkRevocationMemory), times the logouts of one session lifetime
// (10,000 logouts a day over 30 days: about 60 MB per replica).
//
// [NewMemoryRevocations] keeps revocations in process memory; the
// redisadapter package feeds one per replica from Redis, so that the
// guard's check never leaves the process.
package sessionadapter
