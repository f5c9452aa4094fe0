// Package otelbclogout traces logouts with OpenTelemetry: one span per
// logout a door completed, per request a door refused, and per event of the
// retry queue, fed through the hooks bclogout.Config already has. It is a
// module of its own so that only programs importing it depend on
// OpenTelemetry.
//
//	h := otelbclogout.New(tp) // nil: otel.GetTracerProvider()
//	logout, err := bclogout.New(ctx, bclogout.Config{
//		// Issuer, ClientID, Sessions, …
//		OnLogout: h.OnLogout, OnReject: h.OnReject, Metrics: h,
//	})
//
// The spans are children of the span in the hook's context: wrap the
// library's routes in otelhttp (or the router's own instrumentation) and
// each logout or rejection span sits under the request that brought it.
// They mark the moment the logout completed or the request was refused
// (a span of no duration): the request's own span has the time it took.
//
//   - "bclogout.logout" (OnLogout): bclogout.door, bclogout.issuer,
//     bclogout.outcome "accepted", bclogout.sessions_ended, and the hashes
//     below.
//   - "bclogout.reject" (OnReject), status Error: bclogout.door and
//     bclogout.outcome, the rejection class ("request", "malformed",
//     "signature", "encryption", "issuer", "audience", "time", "claims",
//     "replay", "temporary" or "internal"; a logout whose store work
//     failed, "failed" in the metrics, is "temporary" here, followed by a
//     "queued" retry span). OnReject gets no issuer: most rejections come
//     before one is selected. The error's text, which may quote the
//     token's claims, is not recorded.
//   - "bclogout.retry" (Metrics), a root span, since the retry queue
//     reports without a context: bclogout.door, bclogout.issuer,
//     bclogout.outcome ("queued", "retried", "abandoned_expired",
//     "abandoned_closed", "abandoned_full"; status Error when abandoned)
//     and bclogout.sessions_ended. Metrics' other outcomes are the
//     requests the two hooks above already traced, and make no span.
//
// No attribute holds a raw sub, sid or token: bclogout.subject_hash and
// bclogout.sid_hash are the first 16 hex digits (64 bits) of the SHA-256
// of the sub and of the sid, absent when the logout named none. They are
// pseudonyms, not anonymity: whoever knows a sub can compute its hash to
// find its logouts, which is what they are for.
//
// An app that also wants Prometheus fans Metrics out itself, embedding
// prommetrics' Metrics so that its JWKSRefreshed still hears of key
// refreshes:
//
//	type metrics struct {
//		*prommetrics.Metrics
//		otel *otelbclogout.Hooks
//	}
//
//	func (m metrics) Observe(door, issuer, outcome string, n int, elapsed time.Duration) {
//		m.Metrics.Observe(door, issuer, outcome, n, elapsed)
//		m.otel.Observe(door, issuer, outcome, n, elapsed)
//	}
//
// Spec: https://openid.net/specs/openid-connect-backchannel-1_0.html
package otelbclogout
