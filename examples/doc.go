// Package examples holds runnable relying parties that serve the OpenID
// Connect Back-Channel Logout 1.0 endpoint (§2.5,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest)
// with net/http (nethttp), chi (chi) and echo (echo). Each one is short on
// purpose: it is documentation. The tests in this directory build each
// program and exercise it over HTTP against a fake OP.
//
//	go run ./examples/chi -issuer https://op.example -client-id my-client
package examples
