// Package rp validates OpenID Connect Back-Channel Logout 1.0 logout tokens
// and serves the relying party's back-channel logout endpoint.
//
// A [Verifier] turns a raw logout token into a validated [LogoutEvent]
// following §2.6 of the specification
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation):
// decryption of nested JWE tokens, the signature with an allowed algorithm
// and a key bound to it (RFC 8725 §3.1), then iss, aud, iat, exp, sub/sid,
// events, nonce and jti. A [MultiVerifier] serves several OPs in one
// endpoint. A [Handler] is the endpoint itself (§2.5 and §2.8): it checks the
// request, validates the token, refuses replays (§2.6 step 7 via a
// replay.Cache) and ends the named sessions through a sessionadapter.Ender.
// With [WithRetry] it also retries, in the background, the logouts a store
// failed: most OPs never retry the 400 that tells them to (§2.8).
//
// Policies where the specification leaves a choice are strict by default:
//   - headers and claims are read by one strict JSON decoder: member names
//     match exactly, a name given twice and invalid UTF-8 make the token
//     malformed (RFC 7515 §4 allows rejecting duplicates), so no member can
//     mean one thing to these checks and another to the application;
//   - a token's jku, x5u, jwk and x5c headers are rejected outright rather
//     than ignored; no known OP sends them in logout tokens, and their
//     presence signals a forged token trying to bring its own key;
//   - any crit header is rejected: this package understands no extension;
//   - a missing exp is accepted (several OPs omit it) because the iat max
//     age already bounds the token's life; WithRequireExp makes it mandatory;
//   - HS256/384/512 are usable only with WithClientSecret, and a JWK is never
//     used as an HMAC secret.
package rp
