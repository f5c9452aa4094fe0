// Package spec holds the identifiers the specifications fix, shared by
// rp, which checks them, and the fake OP, which mints them.
package spec

// BackchannelLogoutEvent is the member of a logout token's events claim
// that makes a JWT a logout token (Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
