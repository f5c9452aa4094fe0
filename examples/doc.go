// Package examples holds complete relying parties that sign their users
// out when the OP ends their session (OpenID Connect Back-Channel Logout
// 1.0, https://openid.net/specs/openid-connect-backchannel-1_0.html): real
// login through coreos/go-oidc and golang.org/x/oauth2, sessions bound at
// the callback, the guard, the back-channel endpoint and a signed-out page.
//
//   - scs: net/http and alexedwards/scs (memstore; scs's redisstore when
//     BCLOGOUT_REDIS_URL is set);
//   - gorilla: chi and gorilla/sessions (FilesystemStore; boj/redistore when
//     BCLOGOUT_REDIS_URL is set), with Prometheus metrics;
//   - postgres: net/http and alexedwards/scs as several replicas on one
//     PostgreSQL (BCLOGOUT_PG_URL): scs's pgxstore for the sessions,
//     sessionadapter/pgadapter for the bindings, revocations and replay
//     cache.
//
// Each runs against an in-process fake OP unless given -issuer. The tests
// in this directory build each program and drive a sign-in and an OP
// logout over HTTP; each program also has an in-process test written the
// way a user would test their own app (the README shows it).
//
//	go run ./scs
package examples
