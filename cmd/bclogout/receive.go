package main

import (
	"context"
	"flag"
	"time"
)

// verifierFlags are the validation options receive and verify share: the
// ones that matter when trying an OP.
type verifierFlags struct {
	issuer         string
	clientID       string
	jwksURL        string
	algs           string
	maxAge         time.Duration
	requireTyp     bool
	requireExp     bool
	decryptionKeys string
	requireEncrypt bool
}

func (v *verifierFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&v.issuer, "issuer", "", "the OP's `URL`, exactly as its tokens' iss claim; required. Discovery reads URL/.well-known/openid-configuration. Plain http is accepted for loopback hosts only")
	fs.StringVar(&v.clientID, "client-id", "", "this RP's client `ID` at the OP, expected in aud; required")
	fs.StringVar(&v.jwksURL, "jwks-url", "", "fetch the OP's keys from `URL` instead of the discovered jwks_uri (discovery is then skipped)")
	fs.StringVar(&v.algs, "alg", "", "the client's registered signing algorithm (id_token_signed_response_alg), or comma-separated `ALGS` to accept. Default: RS256, the registration default, when the OP's id_token_signing_alg_values_supported lists it or is absent; otherwise that list minus none and HS*")
	fs.DurationVar(&v.maxAge, "max-age", 0, "reject tokens whose iat is older than `duration` (default: the library's, 5m)")
	fs.BoolVar(&v.requireTyp, "require-typ", false, "require the header typ logout+jwt (by default absent, JWT and logout+jwt are accepted)")
	fs.BoolVar(&v.requireExp, "require-exp", false, "require the exp claim (by default a missing exp is accepted, as some OPs omit it)")
	fs.StringVar(&v.decryptionKeys, "decryption-keys", "", "`FILE` with the RP's private JWK set, to decrypt encrypted (JWE) logout tokens")
	fs.BoolVar(&v.requireEncrypt, "require-encryption", false, "reject unencrypted (plain JWS) logout tokens, as a client that registered ID Token encryption should; needs --decryption-keys")
}

func receiveCommand() command {
	return command{
		name:     "receive",
		synopsis: "--issuer URL --client-id ID [--addr HOST:PORT] [--path PATH] [FLAGS]",
		summary:  "serve a back-channel logout endpoint and print what arrives",
		description: `
A standalone back-channel logout receiver to try any OP against. It discovers
the OP (issuer, jwks_uri, signing algorithms), serves the logout endpoint at
http://ADDR/PATH and prints one JSON line to stdout per request, accepted or
rejected:

  {"time":"...","outcome":"accepted","status":200,"iss":"...","sub":"...",
   "sid":"...","jti":"...","sessions_ended":0}
  {"time":"...","outcome":"rejected","status":400,"reason":"signature",
   "detail":"rp: ..."}

"reason" is a short stable code (signature, issuer, audience, replay, ...);
"detail" is the full error, for your terminal only: the HTTP answer to the OP
stays generic, as the specification asks (§2.8). The receiver has no real
sessions, so sessions_ended is always 0; a replayed token is still rejected.

The listening URL and logs go to stderr. Give it to the OP as the client's
backchannel_logout_uri. Port 0 picks a free port. Plain-http issuers are
accepted for loopback hosts only; an OP on another host must use https.
The receiver stops cleanly on SIGINT or SIGTERM (exit status 0).`,
		examples: `
# Against the fake OP (run "bclogout op" in another terminal first):
bclogout receive --issuer http://127.0.0.1:9000 --client-id demo-rp

# Against Keycloak, demanding exp and typ logout+jwt:
bclogout receive --issuer https://kc.example.com/realms/demo \
    --client-id my-app --addr 0.0.0.0:8081 --require-exp --require-typ

# A client that registered ID Token encryption: only encrypted tokens pass.
bclogout receive --issuer https://op.example.com --client-id my-app \
    --decryption-keys rp-enc.json --require-encryption

# Keep only the rejections:
bclogout receive --issuer ... --client-id ... | jq 'select(.outcome=="rejected")'`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, streams) int {
			var (
				vf   verifierFlags
				addr string
				path string
			)
			vf.register(fs)
			fs.StringVar(&addr, "addr", "127.0.0.1:8081", "listen on `HOST:PORT`; port 0 picks a free port")
			fs.StringVar(&path, "path", "/backchannel-logout", "serve the endpoint at `PATH`")
			return func(ctx context.Context, args []string, s streams) int {
				return runReceive(ctx, s, vf, addr, path, args)
			}
		},
	}
}
