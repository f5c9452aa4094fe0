// Package opkit is the fake OpenID Provider behind the public fakeop
// package, for testing relying parties that implement OpenID Connect
// Back-Channel Logout 1.0
// (https://openid.net/specs/openid-connect-backchannel-1_0.html). fakeop
// shows users the few calls a "logout works" test needs; this package keeps
// the rest for bclogout's own tests, cmd/bclogout and the demo.
//
// It mints logout tokens (§2.4), valid ones and a catalogue of named invalid
// ones (see Variants), encrypts them as nested JWTs (§2.4, last paragraph),
// and runs a small OP over HTTP: discovery, a JWKS with key rotation, a
// minimal authorization-code login with single sign-on, a userinfo endpoint,
// and end_session (RP-Initiated Logout 1.0) with the back-channel fan-out of
// §2.5 to every RP that took part in the session.
//
// An app's "logout works" test needs three calls: OP.StartApp serves the
// app on an httptest server and registers it as a client; OP.SignIn drives
// a browser through the app's own login route and the OP's login form, and
// returns it as an *http.Client holding the app's cookies; OP.SignOut ends
// that browser's OP session while the app's login callback is in flight,
// and returns once every RP has answered its logout token. The next
// request of the browser must find the user signed out.
//
// Tokens are minted by hand on the standard library, not with a JOSE
// library, and only because a fake OP must produce tokens that a correct
// JOSE library refuses to create: alg "none", HS256 keyed with an RSA
// public key, a tampered payload, headers carrying jku, x5u, jwk, x5c or
// crit. As rp verifies with jwx, every token minted here also cross-checks
// the two implementations. Everything a library does correctly is left to
// it: key files (ParsePrivateJWK, ParseEncryptionJWK, Key.PrivateJWK,
// EncryptionKey.PrivateJWKS) are read and written with jwx.
//
// Nothing in this package is meant for production: keys live in memory and
// tokens are minted with whatever claims a test asks for.
package opkit
