// Command chi serves a back-channel logout endpoint with a chi v5 router:
// discovery of the OP, an in-memory session store, the endpoint at
// /backchannel-logout, a /healthz and Prometheus metrics at /metrics.
//
//	go run ./examples/chi -issuer https://op.example -client-id my-client
//
// Spec: OpenID Connect Back-Channel Logout 1.0 §2.5,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
package main
