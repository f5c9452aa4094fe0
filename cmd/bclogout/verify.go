package main

import (
	"context"
	"flag"
)

func verifyCommand() command {
	return command{
		name:     "verify",
		synopsis: "--issuer URL --client-id ID [FLAGS] [TOKEN]",
		summary:  "validate a logout token and explain every check",
		description: `
Validates one logout token, given as the argument or read from stdin, the way
an RP does (§2.6), and explains the result. It prints the token's header and
claims, decoded WITHOUT verification (do not trust them when the token is
invalid), then each check in validation order:

  decrypt          JWE decrypted with --decryption-keys (skipped for a JWS,
                   which fails here with --require-encryption)
  signature/alg    signed by a key of the OP with an allowed alg
  typ/crit/headers typ allowed, no unknown crit, no jku/x5u/jwk/x5c key hints
  iss              exactly the configured issuer
  aud              contains the client ID
  iat              not in the future, not older than --max-age
  exp              in the future (required with --require-exp)
  sub/sid          at least one present
  events           the back-channel logout event is a JSON object
  nonce            absent

each marked pass, FAIL or not reached. Validation stops at the first failure,
as an RP does: "pass" means the check ran and passed, "not reached" means it
did not run. A check listed before the failing one passed; the ones after it
tell you nothing. The replay check (jti) is not part of verify: a single run
cannot have seen the token before.`,
		examples: `
bclogout verify --issuer https://op.example.com --client-id my-app eyJhbGciOi...
pbpaste | bclogout verify --issuer https://op.example.com --client-id my-app
bclogout verify --issuer http://127.0.0.1:9000 --client-id demo-rp \
    --decryption-keys rp-private-jwks.json < token.txt`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, streams) int {
			var vf verifierFlags
			vf.register(fs)
			return func(ctx context.Context, args []string, s streams) int {
				return runVerify(ctx, s, vf, args)
			}
		},
	}
}
