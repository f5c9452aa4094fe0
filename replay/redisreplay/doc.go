// Package redisreplay is a replay.Cache in Redis, so that several replicas
// of a relying party share one replay window for the jti of OpenID Connect
// Back-Channel Logout tokens (Back-Channel Logout 1.0 §2.6 step 7).
//
// Each (iss, jti) pair is one key: Reserve is SET NX PX with a random token
// per reservation, Commit and Release are small Lua scripts that act only on
// that reservation, never on another attempt's. A key lives until the token
// could no longer be accepted, reserved or committed alike, so a slow logout
// or a failed Commit never lets the token through again. Every command
// touches a single key, so the Cache works on Redis Cluster with the keys
// spread over all nodes.
//
// https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
package redisreplay
