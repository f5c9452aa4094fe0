// Package replay remembers the (iss, jti) pairs of completed OpenID
// Connect Back-Channel Logout tokens, so that a token replayed after its
// logout succeeded is refused (Back-Channel Logout 1.0 §2.6 step 7).
//
// A [Cache] is a plain set with expiry. The handler in package rp asks
// [Cache.Seen] before a logout and calls [Cache.Record] once the logout
// succeeded; nothing is written before, so a logout that fails leaves
// nothing to undo and the OP's retry runs it again. A pair is remembered
// until the token could no longer be accepted: min(exp, iat+maxAge) + skew.
//
// Two deliveries of one token that arrive together may both pass Seen and
// both run the logout. That is harmless: a logout revokes the named
// sessions as of the token's iat, so the second run ends nothing the first
// did not.
//
// [NewMemory] is the bounded in-process Cache for a single replica; the
// redisreplay subpackage shares one window between replicas.
//
// https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
package replay
