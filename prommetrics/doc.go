// Package prommetrics reports what an rp.Handler observed to Prometheus, in a
// package of its own so that only programs importing it depend on
// client_golang.
//
// Metrics.Observe is the function rp.WithMetrics takes; it keeps the
// counters a back-channel logout dashboard needs: tokens accepted and rejected (by reason, replays being
// reason="replay"), sessions ended, logouts failed (the OP was told to
// retry, OpenID Connect Back-Channel Logout 1.0 §2.8), the logouts pending
// in, completed by and abandoned from the retry queue of rp.WithRetry, JWK
// Set refreshes, and the latency of each request by outcome.
//
// Spec: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCResponse
package prommetrics
