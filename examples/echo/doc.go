// Command echo serves a back-channel logout endpoint with echo v4:
// discovery of the OP, an in-memory session store, the endpoint at
// /backchannel-logout and a /healthz.
//
//	go run ./examples/echo -issuer https://op.example -client-id my-client
//
// Spec: OpenID Connect Back-Channel Logout 1.0 §2.5,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
package main
