// Package prommetrics reports what the logout pipeline observed to
// Prometheus (bclogout.Config.Metrics, or rp.WithMetrics), in a package of
// its own so that only programs importing it depend on client_golang.
//
// Metrics.Observe is the function rp.WithMetrics takes; it keeps the
// counters a logout dashboard needs, each labelled by the door the logout
// came through (backchannel, frontchannel, signout, sharedsignals):
// logouts accepted and requests rejected (by reason, replays being
// reason="replay"), sessions ended, logouts failed (the sender was told to
// retry, OpenID Connect Back-Channel Logout 1.0 §2.8), the logouts pending
// in, completed by and abandoned from the retry queue of rp.WithRetry, JWK
// Set refreshes, and the latency of each request by door and outcome.
//
// Spec: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCResponse
package prommetrics
