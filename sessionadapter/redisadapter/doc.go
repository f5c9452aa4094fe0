// Package redisadapter shares session bindings and revocations between
// replicas through Redis (plain, Sentinel or Cluster, through a
// redis.UniversalClient), for OpenID Connect Back-Channel Logout 1.0 §2.7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions).
//
// [New] indexes the bindings and deletes the session data of a logout.
// [Revocations] records each logout in Redis and feeds every replica's
// memory from a stream, so that middleware.Guard checks a request without
// a Redis call. Give both to sessionadapter.NewRevokingEnder
// (sessionadapter.WithStore), which records the revocation, then deletes.
//
// # Layout
//
// Under the key prefix P (default "{bclogout}:"):
//
//	P b:<localID>                  hash iss, sub, sid, exp: one binding
//	P sid:<len(iss)>:<iss><sid>    sorted set of local IDs, scored by expiry
//	P sub:<len(iss)>:<iss><sub>    sorted set of local IDs, scored by expiry
//	P rev:set                      hash encoded logout -> "at,until" (ms): live revocations,
//	                               and "!mark" -> "id,floor": the loss mark (see Revocations)
//	P rev:exp                      sorted set of rev:set fields, by until
//	P rev:log                      stream of revocations (q seq, f field, v value), capped
//	P rev:seq                      counter numbering the stream's entries
//
// The length prefix makes the encoding unambiguous whatever the issuer
// holds. Each binding expires with its session; each index keeps the TTL of
// its longest-lived member and drops expired members whenever a session
// is bound to it, so nothing grows forever. Session data lives at the key
// made by WithSessionKey (default P+"session:%s"), which can be another
// store's: "session_%s" for boj/redistore, "session:%s" for
// rbcervilla/redisstore, "scs:session:%s" for scs.
//
// # One round trip, atomic
//
// The store's EndSessions is one Lua script, linear in the sessions it ends: it
// reads the index, checks the sub of each binding, deletes session data,
// bindings and index entries in batches, and returns; Bind and Unbind are one script
// each, and so is Revocations' Revoke (Revoked makes no call at all).
// Redis runs a script as a whole or not at all (a script is only loaded once per server: the first call after a restart
// pays one extra round trip for NOSCRIPT). So a logout that fails (Redis
// down, timeout) either changed nothing or everything: no index ever
// claims a session whose data is gone, no session is left alive but
// unindexed, and the OP's retry ends what is left.
//
// # Cluster
//
// A script may only touch keys of one hash slot, and EndSessions learns
// which sessions to delete from the index it reads, so the adapter's own
// keys and the session data keys must share one hash tag. The default
// prefix "{bclogout}:" is that tag. With a redis.ClusterClient (or Ring),
// New therefore requires a prefix with a hash tag and a session key format
// with the same tag, e.g. "{bclogout}:session:%s" or, for a foreign store
// configured with the key prefix "{bclogout}session_", the format
// "{bclogout}session_%s". The trade-off is deliberate: all bindings and
// session data of one store live on one cluster node (replicas give
// failover, not sharding) in exchange for a logout that is atomic and
// takes one round trip whatever the number of sessions. Per-user tags
// would spread the load, but a sid-only logout (Ory Hydra sends no sub)
// could not find the user's slot without a second round trip, and foreign
// stores cannot put per-user tags in their keys. Plain and Sentinel
// clients accept any format: there is a single keyspace.
//
// The revocation feed reads where Revoke writes, the master:
// NewRevocations refuses a cluster client that routes reads to replicas
// (ReadOnly, RouteRandomly, RouteByLatency, a failover client's
// ReplicaOnly), since a lagging or cut-off replica would hide revocations
// while the feed looked fresh.
package redisadapter
