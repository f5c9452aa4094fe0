// Package redisreplay is a replay.Cache in Redis, so that several replicas
// of a relying party share one replay window for the jti of OpenID Connect
// Back-Channel Logout tokens (Back-Channel Logout 1.0 §2.6 step 7).
//
// Each (iss, jti) pair of a completed logout is one key, set with SET PX
// until the token could no longer be accepted and read with EXISTS. Both
// commands are idempotent, so go-redis's resending of a command whose
// reply was lost is harmless, and each touches one key, so the cache works
// on Redis Cluster.
//
// https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
package redisreplay
