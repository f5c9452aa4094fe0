// Command bclogout tries OpenID Connect Back-Channel Logout 1.0
// (https://openid.net/specs/openid-connect-backchannel-1_0.html) from a
// terminal: "receive" serves an RP's logout endpoint (§2.5, §2.8) and
// prints what arrives, "send" mints and posts logout tokens (§2.4) valid or
// tampered, "verify" explains the validation of one token (§2.6), "op" runs
// the fake OP, and "demo" runs the browser demo. Run "bclogout help" for
// the manual; every subcommand has --help.
package main
