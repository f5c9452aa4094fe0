// Package replay remembers the (iss, jti) pairs of OpenID Connect
// Back-Channel Logout tokens so that each token is acted on only once.
//
// OpenID Connect Back-Channel Logout 1.0 §2.6 step 7 lets the RP reject a
// logout token whose jti it has already seen; bclogout always does it. A
// pair is remembered until the token could no longer be accepted
// (min(exp, iat+maxAge) + skew), and it is consumed only once its logout
// succeeded: Reserve claims it and returns the claim (a Reservation with a
// token of its own), Commit consumes it, Release forgets it so that the
// OP's retry of a failed logout can still succeed. Commit and Release act
// on their own claim only, and a claim lasts until the token could no
// longer be accepted however long the logout takes, so no timing lets a
// consumed token through again (see Cache).
//
// Memory is the in-process implementation for a single RP replica: bounded
// (DefaultCapacity pairs unless told otherwise), sharded for parallel use,
// O(1) amortized per operation through a timing wheel of expiries, and
// failing closed with ErrFull rather than forgetting a live pair. The
// redisreplay subpackage shares one replay window between replicas.
//
// https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
package replay
