package main

import (
	"context"
	"flag"
	"time"
)

type sendFlags struct {
	to           string
	issuer       string
	aud          listFlag
	sub          string
	sid          string
	alg          string
	keyFile      string
	variant      string
	listVariants bool
	claims       listFlag
	encryptTo    string
	timeout      time.Duration
}

func sendCommand() command {
	return command{
		name:     "send",
		synopsis: "--to URL --issuer ISS --aud CLIENT_ID [--sub S] [--sid S] [--alg ALG] [--key FILE] [--variant NAME] [--claim K=V]... [--encrypt-to FILE]\n    bclogout send --list-variants",
		summary:  "mint a logout token and POST it to an RP",
		description: `
Mints a logout token as an OP would (§2.4) and POSTs it to the RP's
back-channel logout endpoint as application/x-www-form-urlencoded
logout_token=... (§2.5). Prints the RP's status line and body to stdout.

The token carries iss, aud, iat, exp (+2m), a fresh jti, the events member
and the given sub and/or sid (default: sub "alice" and a random sid). --claim
adds or replaces claims. --variant replaces the token by one of the named
variants, most of them invalid on purpose (a forged signature, alg none, a
nonce, a wrong audience, ...); --list-variants prints them and whether an RP
should accept each.

The RP must trust the signing key. With --key, the key is read from FILE
(a private JWK or a JWK set; the first key signs). If FILE does not exist, a
new key for --alg is generated and written there, so that
"bclogout op --key-file FILE" publishes the same key and the two work
together. Without --key, a throwaway key is generated and its public JWK set
is printed to stderr: the RP rejects the token unless it trusts that set.

--encrypt-to FILE nests the signed token in a JWE (RSA-OAEP-256 / A256GCM or
ECDH-ES / A256GCM by the key type) for the RP's public JWK in FILE, as an OP
does for a client that registered ID Token encryption.`,
		examples: `
# The fake OP and send share a key file; the RP trusts the OP's JWKS:
bclogout op --key-file op-key.json &
bclogout send --key op-key.json --to http://127.0.0.1:8081/backchannel-logout \
    --issuer http://127.0.0.1:9000 --aud demo-rp --sid 8c1f...

# A forged signature must be answered 400 (exit status 1):
bclogout send --key op-key.json --variant bad-signature --to ... --issuer ... --aud ...

# Extra claims (values are JSON when they parse as JSON, strings otherwise):
bclogout send ... --claim typ=Logout --claim 'events={"http://schemas.openid.net/event/backchannel-logout":{},"revoke_offline_access":true}'

bclogout send --list-variants`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, streams) int {
			var f sendFlags
			fs.StringVar(&f.to, "to", "", "the RP's back-channel logout endpoint `URL`; required")
			fs.StringVar(&f.issuer, "issuer", "", "the iss claim, the `URL` the RP trusts; required")
			fs.Var(&f.aud, "aud", "the aud claim: the RP's `CLIENT_ID`; required; repeat for an array")
			fs.StringVar(&f.sub, "sub", "", "the sub claim (default \"alice\" when --sid is not given either)")
			fs.StringVar(&f.sid, "sid", "", "the sid claim (default: random, when --sub is not given either)")
			fs.StringVar(&f.alg, "alg", "RS256", "signing `ALG` of a generated key: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA")
			fs.StringVar(&f.keyFile, "key", "", "private signing key `FILE` (JWK or JWK set JSON); created with a new --alg key if missing")
			fs.StringVar(&f.variant, "variant", "", "send the named token variant `NAME` instead of a valid token (see --list-variants)")
			fs.BoolVar(&f.listVariants, "list-variants", false, "print the variant names, whether an RP should accept each, and exit")
			fs.Var(&f.claims, "claim", "set claim `K=V`; V is JSON if it parses, else a string; repeatable")
			fs.StringVar(&f.encryptTo, "encrypt-to", "", "encrypt the token for the RP's public JWK in `FILE`")
			fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up on the RP after `duration`")
			return func(ctx context.Context, args []string, s streams) int {
				return runSend(ctx, s, f, args)
			}
		},
	}
}
