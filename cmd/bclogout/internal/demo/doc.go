// Package demo wires the bclogout demo: the fake OP and two relying-party
// apps on loopback, so that a person (or a headless browser in the tests)
// can watch OpenID Connect Back-Channel Logout 1.0 end sessions in two
// different kinds of app (https://openid.net/specs/openid-connect-backchannel-1_0.html,
// §2.5 to §2.8).
//
//   - RP alpha: net/http, stateless sessions in a gorilla CookieStore, the
//     logout recorded as a revocation that middleware.Guard enforces on the
//     next request (§2.7: a cookie session cannot be deleted server-side).
//   - RP beta: chi, server-side sessions in Redis, bound through
//     redisadapter so that a logout deletes them, and revoked through
//     redisadapter.Revocations so that a request in flight cannot bring
//     them back (embedded miniredis unless a Redis URL is given).
//
// Both log in with the authorization-code flow against the fake OP, wrap
// their router in their bclogout.RP's Endpoints, which serves the
// back-channel logout at /backchannel-logout (and beta's front-channel
// logout and Shared Signals receiver) ahead of the app's guard, and serve
// a middleware.Notifier at /logout-events that an open page listens to,
// turning itself signed-out without a reload when its session is logged
// out. It is internal: a demo, not an API.
package demo
