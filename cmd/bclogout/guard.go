package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// guardFlags configure the guard service; every flag can also be set by
// an environment variable BCLOGOUT_NAME (--max-session-age:
// BCLOGOUT_MAX_SESSION_AGE), the command line winning.
type guardFlags struct {
	issuer, clientID, alg string

	addr, adminAddr string
	allowPublic     bool

	upstream       string
	authRequestURL string
	authPath       string
	logoutPath     string
	frontPath      string
	signOutURL     string
	header         string

	ssfPath, ssfTransmitter, ssfAudience, ssfBearer string

	maxSessionAge time.Duration
	redisURL      string
	redisPrefix   string
}

// envPrefix names the environment variables that stand in for flags.
const envPrefix = "BCLOGOUT_"

// oauth2ProxyCookieExpire is oauth2-proxy's --cookie-expire default: the
// longest its session lives without a refresh token.
const oauth2ProxyCookieExpire = 168 * time.Hour

func guardCommand() command {
	return command{
		name:     "guard",
		synopsis: "--issuer URL --client-id ID (--upstream URL | forward auth) [FLAGS]",
		summary:  "enforce back-channel logout for any app behind oauth2-proxy or an auth proxy",
		description: `
The front door as a service, for apps that are not written in Go and sit
behind oauth2-proxy, nginx auth_request, Traefik ForwardAuth or Envoy
ext_authz. It receives the OP's logouts at --logout-path (back-channel,
Back-Channel Logout 1.0 §2.5), with --frontchannel-path at that path
(Front-Channel Logout 1.0 §2) and, with --ssf-path, Security Event Tokens
(CAEP, RISC), records a revocation of each (in memory, or in Redis with
--redis so that every instance enforces a logout any of them received), and
refuses the logged-out logins:

  upstream mode (--upstream URL): a reverse proxy in front of the app, set
    as oauth2-proxy's --upstream. oauth2-proxy passes the login's ID token
    (--pass-authorization-header: "Authorization: Bearer <ID token>"). A
    live login goes on to the app; a logged-out one gets a redirect to
    --sign-out-url (oauth2-proxy's /oauth2/sign_out, which clears its
    cookie) for a page load (GET or HEAD accepting text/html), 401
    otherwise.
  forward auth (--auth-path, served in both modes): for nginx auth_request,
    Traefik ForwardAuth and Envoy ext_authz (HTTP): 200 for a live login,
    401 for a logged-out, missing or forged one. nginx makes one
    auth_request: with --auth-request-url the guard asks oauth2-proxy's
    /oauth2/auth itself, with the request's cookie, takes the ID token from
    its answer (--set-authorization-header) and passes its X-Auth-Request-*
    headers on in its 200.

The ID token is verified with the OP's keys (signature, iss, aud, sub, iat)
and its login (iss, sid, sub, iat) looked up in the revocations held in
memory: no store call per request. A missing, forged or foreign token gets
401 and is never proxied. An ID token past its exp is accepted until
--max-session-age after its iat: oauth2-proxy keeps a session (its cookie)
longer than the OP's ID token lives when the OP gives no refresh token, and
revocation is keyed by the login, not by the token. A logout of a sid also
refuses every token of that sid whose auth_time predates the logout, so a
token refreshed after the logout (iat later, auth_time the same) does not
revive the login.

What a client sends cannot stand in for what the auth proxy sets: the guard
must be reachable only through that proxy, which must overwrite the header
(oauth2-proxy does). It refuses to listen on a non-loopback address without
--allow-public. Readiness (/readyz: 200 once the OP's keys and the
revocations are loaded), liveness (/livez) and Prometheus metrics (/metrics)
are served on --admin-addr. Logs are JSON lines on stderr. SIGINT or
SIGTERM stops it gracefully (exit status 0).

Every flag can also be set by an environment variable: BCLOGOUT_ and the
flag's name in capitals with - as _ (BCLOGOUT_ISSUER, BCLOGOUT_UPSTREAM,
BCLOGOUT_MAX_SESSION_AGE); a flag on the command line wins.`,
		examples: `
# oauth2-proxy in front, the app behind the guard:
bclogout guard --issuer https://op.example.com --client-id my-app \
    --addr 127.0.0.1:4181 --upstream http://127.0.0.1:8080
oauth2-proxy --provider=oidc --oidc-issuer-url=https://op.example.com \
    --client-id=my-app --client-secret=... --cookie-secret=... \
    --email-domain='*' --pass-authorization-header \
    --skip-auth-route='POST=^/backchannel-logout$' \
    --upstream=http://127.0.0.1:4181

# forward auth for nginx (auth_request to /bclogout/auth) in front of
# oauth2-proxy's /oauth2/auth, two instances sharing Redis:
BCLOGOUT_REDIS=redis://10.0.0.5:6379/0 bclogout guard \
    --issuer https://op.example.com --client-id my-app --addr 127.0.0.1:4181 \
    --auth-request-url http://127.0.0.1:4180/oauth2/auth`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, streams) int {
			var f guardFlags
			fs.StringVar(&f.issuer, "issuer", "", "the OP's issuer `URL`, exactly as its tokens' iss; required")
			fs.StringVar(&f.clientID, "client-id", "", "the app's client `ID` at the OP (the ID token's and the logout token's aud); required")
			fs.StringVar(&f.alg, "alg", "", "the client's registered signing algorithm(s), comma-separated `ALGS` (default: RS256, or the OP's list)")
			fs.StringVar(&f.addr, "addr", "127.0.0.1:4181", "listen on `HOST:PORT` for the proxy's traffic and the OP's logouts")
			fs.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9181", "listen on `HOST:PORT` for /readyz, /livez and /metrics; empty: none")
			fs.BoolVar(&f.allowPublic, "allow-public", false, "allow a non-loopback --addr: only when nothing but the auth proxy (and the OP, on the logout paths) can reach it")
			fs.StringVar(&f.upstream, "upstream", "", "upstream mode: proxy live logins to the app at `URL`")
			fs.StringVar(&f.authRequestURL, "auth-request-url", "", "forward auth: take the ID token from the answer of `URL` (oauth2-proxy's /oauth2/auth, with --set-authorization-header), asked with the request's headers, never from the request itself: for nginx, whose auth_request makes one check")
			fs.StringVar(&f.authPath, "auth-path", "/bclogout/auth", "serve the forward-auth check at `PATH`")
			fs.StringVar(&f.logoutPath, "logout-path", "/backchannel-logout", "serve the back-channel logout endpoint at `PATH`")
			fs.StringVar(&f.frontPath, "frontchannel-path", "", "serve the front-channel logout endpoint at `PATH`, for an OP without back-channel logout (default: not served; anyone can call it)")
			fs.StringVar(&f.ssfPath, "ssf-path", "", "serve the Security Event Token push endpoint (CAEP session-revoked, RISC sessions-revoked; RFC 8935) at `PATH`; empty: none")
			fs.StringVar(&f.ssfTransmitter, "ssf-transmitter", "", "the issuer `URL` of the service that pushes the SETs (default: --issuer)")
			fs.StringVar(&f.ssfAudience, "ssf-audience", "", "the SETs' aud, `AUD` (default: --client-id)")
			fs.StringVar(&f.ssfBearer, "ssf-bearer-token", "", "the bearer `TOKEN` the transmitter must send (RFC 8935 §2.2); better set by BCLOGOUT_SSF_BEARER_TOKEN than on a command line others can read")
			fs.StringVar(&f.signOutURL, "sign-out-url", "/oauth2/sign_out", "upstream mode: where a logged-out page load is redirected, with rd= the page (`URL`: oauth2-proxy's sign-out)")
			fs.StringVar(&f.header, "id-token-header", "Authorization", "the request `HEADER` that carries the ID token (Authorization: with the Bearer scheme)")
			fs.DurationVar(&f.maxSessionAge, "max-session-age", oauth2ProxyCookieExpire, "the auth proxy's session lifetime (oauth2-proxy's --cookie-expire): an ID token is accepted up to `duration` after its iat, past its exp, and revocations are kept that long")
			fs.StringVar(&f.redisURL, "redis", "", "keep revocations and the replay cache in Redis at `URL` (redis://[user:pass@]host:port/db, rediss://…), shared by every instance")
			fs.StringVar(&f.redisPrefix, "redis-prefix", "", "start every Redis key with `PREFIX`, the same at every instance of one app (default: the libraries', {bclogout}: and bclogout:jti:)")
			return func(ctx context.Context, args []string, s streams) int {
				if err := applyEnv(fs, os.LookupEnv); err != nil {
					return usageError(s, "guard", "%v", err)
				}
				return runGuard(ctx, s, f, args)
			}
		},
	}
}

// applyEnv sets every flag not given on the command line from its
// environment variable, if set.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if v, ok := lookup(name); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s: %v", name, serr)
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
