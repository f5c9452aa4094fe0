package main

import (
	"context"
	"flag"
)

func opCommand() command {
	return command{
		name:     "op",
		synopsis: "[--addr HOST:PORT] [--client id=ID,secret=S,redirect=URL,logout=URL,post_logout=URL]... [--alg ALG] [--key-file FILE]",
		summary:  "run the fake OpenID Provider standalone",
		description: `
Runs the fake OP of package fakeop until SIGINT or SIGTERM: discovery at
/.well-known/openid-configuration, its JWKS, an authorization-code login with
single sign-on (client_secret_basic, client_secret_post or a public client;
PKCE S256), /userinfo for the access token, and end_session (RP-Initiated
Logout: id_token_hint, post_logout_redirect_uri, state) with the back-channel
fan-out of §2.5 to every RP that took part in the OP session. Its home page
lists the sessions and has "Sign out everywhere". It prints the issuer URL to
stdout.

Register RPs with --client (repeatable), a comma-separated list of members:
  id=ID                  the client_id (required)
  secret=S               the client secret; without one the client is public
  redirect=URL           a redirect_uri; repeat the member for several
  logout=URL             the backchannel_logout_uri
  post_logout=URL        a post_logout_redirect_uri (end_session refuses one
                         the client did not register); repeat the member
                         for several
  session_required=true  backchannel_logout_session_required (the OP always
                         sends sid; this only records the client's intent)
A value cannot contain a comma. Everything is in memory; this is a test tool,
never an identity provider.

With --key-file, the signing key is read from FILE, or generated for --alg
and written there when FILE does not exist, so that "bclogout send --key FILE"
mints tokens that RPs trusting this OP accept.`,
		examples: `
bclogout op --addr 127.0.0.1:9000 --key-file op-key.json \
    --client id=demo-rp,secret=s3cret,redirect=http://127.0.0.1:8082/callback,logout=http://127.0.0.1:8081/backchannel-logout

# an RP library that signs out through end_session and wants to come back,
# to one of two pages
bclogout op --client id=web,secret=s3cret,redirect=http://localhost:3000/callback,logout=http://localhost:3000/backchannel-logout,post_logout=http://localhost:3000/,post_logout=http://localhost:3000/bye,session_required=true`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, streams) int {
			var f opFlags
			fs.StringVar(&f.addr, "addr", "127.0.0.1:9000", "listen on `HOST:PORT`; port 0 picks a free port")
			fs.StringVar(&f.issuer, "issuer", "", "announce issuer `URL` (default: http:// plus the listen address)")
			fs.Var(&f.clients, "client", "register an RP described by `KEY=VALUE,...` (members in DESCRIPTION); repeatable")
			fs.StringVar(&f.alg, "alg", "RS256", "signing `ALG` of a generated key")
			fs.StringVar(&f.keyFile, "key-file", "", "read the private signing key from `FILE`, or create it there")
			fs.StringVar(&f.allowPrivate, "allow-private-targets", "", "`true` lets the OP deliver logout tokens, over http too, to private, link-local and loopback addresses; false keeps the SSRF guard whole (default: when --addr is loopback, loopback RPs only, over http on 127.0.0.1, [::1] or localhost; else the guard whole)")
			return func(ctx context.Context, args []string, s streams) int {
				return runOP(ctx, s, f, args)
			}
		},
	}
}

type opFlags struct {
	addr, issuer, alg, keyFile, allowPrivate string
	clients                                  listFlag
}
