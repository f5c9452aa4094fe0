// Package rp is the relying party's side of OpenID Connect Back-Channel
// Logout 1.0 (https://openid.net/specs/openid-connect-backchannel-1_0.html):
// it validates logout tokens and serves the back-channel logout endpoint.
//
// A token's path, in one screen:
//
//	// The OP's keys, from its discovery document; RS256 unless WithAlgorithms.
//	v, err := rp.Discover(ctx, issuer, clientID)
//	...
//	defer v.Close()
//	// ender, a sessionadapter.Ender, ends the sessions a token names; the
//	// replay cache is shared (Redis) behind a load balancer; the retry
//	// queue retries the logouts a store failed.
//	h, err := rp.NewHandler(v, ender, rp.WithReplayCache(cache), rp.WithRetry(0))
//	...
//	defer h.Close(ctx)
//	// What the server serves: the OP's POST, which carries no cookie and
//	// no CSRF token, ahead of the app's session loading and checks.
//	handler := h.Wrap(app) // the endpoint at /backchannel-logout (WithPath)
//
// For each request the Handler:
//  1. reads the request (§2.5): a POST of a form with exactly one
//     logout_token, at most 64 KiB; else 400, 405 or 413;
//  2. validates the token with the Verifier (§2.6, in its order): decrypts
//     a nested JWE, picks the OP by iss, checks the header policy, the key
//     (by kid, bound to its alg, RFC 8725 §3.1) and the signature, then
//     aud, iat, exp, sub/sid, events, nonce and jti;
//  3. hands the LogoutEvent to the pipeline, and answers 200, or 400 with
//     a JSON error (§2.8); a store failure is 400 temporarily_unavailable
//     with nothing recorded, so the OP's retry (or WithRetry's queue, as
//     most OPs never retry) can still succeed.
//
// The pipeline is the one way any logout ends sessions, whichever door it
// came through: the Handler's own (a logout token), or Handler.End, which
// the bclogout package's other doors call with the event they validated
// (a front-channel request, the app's Sign out, a Security Event Token):
//  1. refuse a token whose (iss, jti) already completed a logout (§2.6
//     step 7), asking the replay.Cache;
//  2. date an event that carries no OP date (a front-channel request has
//     no iat) by the one clock rule for RP-clock instants: this RP's
//     clock plus the OP clock skew (a minute), since logins are dated by
//     the OP's clock; a login within that minute after it is refused too
//     (fail closed);
//  3. revoke and end the sessions it names through the Ender (§2.7:
//     revocation first), then record its (iss, jti) as completed;
//  4. report it: metrics and logs labelled by door, OnLogout (unless it
//     names no session: a SET only acknowledged); or, when a store failed,
//     queue it for retry (WithRetry; a SET is left to its transmitter's
//     redelivery, RFC 8935 §4) and report the failure (OnReject with
//     ErrTemporary). One recover guards every hook.
//
// A rejection wraps one sentinel per failure class (ErrMalformed,
// ErrSignature, ErrEncryption, ErrIssuer, ErrAudience, ErrTime, ErrClaims,
// ErrReplay, ErrTemporary), with detail that names the rule, for logs and
// WithOnReject; the network only sees a generic description. Join serves
// several OPs at one endpoint.
//
// Verifier.VerifySET validates a Security Event Token (RFC 8417) pushed by
// a Shared Signals transmitter with the same decoding, header rules and
// key selection, for a Verifier made with the transmitter's issuer and
// keys and the receiver's audience as its client ID; the bclogout package
// serves the push endpoint (RFC 8935) on it.
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
//   - a nonce is rejected whatever its value (§2.4);
//   - a missing exp is accepted (several OPs omit it) because the iat max
//     age (5 minutes unless WithMaxAge) already bounds the token's life;
//     WithRequireExp makes it mandatory;
//   - HS256/384/512 are usable only with WithClientSecret, and a JWK is never
//     used as an HMAC secret.
package rp
