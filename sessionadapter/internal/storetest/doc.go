// Package storetest is the behaviour every sessionadapter.Store must show,
// run against each implementation (memory, miniredis, real Redis and
// Redis Cluster) so that they cannot drift apart: the logout actions of
// OpenID Connect Back-Channel Logout 1.0 §2.7
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions).
package storetest
