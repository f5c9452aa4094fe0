// Package redistest connects tests to Redis: miniredis in process, and the
// real single server and cluster that scripts/with-redis.sh starts and
// names in BCLOGOUT_REDIS_URL and BCLOGOUT_REDIS_CLUSTER.
//
// The stores it serves keep the state of OpenID Connect Back-Channel
// Logout 1.0 §2.6 (jti replay,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation)
// and §2.7 (session ends,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions)
// across replicas; this package only sets up what their tests talk to.
//
// Without the variables a test that needs real Redis skips, so that
// `go test` works on a bare machine; under CI (CI non-empty) it fails
// instead, so a broken setup cannot pass as a run of skipped tests.
package redistest
