package main

import (
	"context"
	"flag"
	"os"

	"github.com/bclogout/bclogout/cmd/bclogout/internal/demo"
)

func demoCommand() command {
	return command{
		name:     "demo",
		synopsis: "[--addr HOST:PORT] [--redis-url URL] [--frontchannel] [--check]",
		summary:  "run the fake OP and two RP apps for a browser",
		description: `
Starts on loopback the fake OP and two RP apps, then prints a URL to open:

  alpha  net/http, sessions in a gorilla CookieStore (stateless), logouts
         recorded as revocations that a request-time guard enforces
  beta   chi, server-side sessions in Redis (an embedded miniredis unless
         --redis-url or BCLOGOUT_REDIS_URL is given)

Log in to both RPs through the OP and press "Sign out" in one of them (it
signs out of the OP too: RP-initiated logout), or "Sign out everywhere" at
the OP: both RP pages switch to "Signed out" by themselves (server-sent
events), and, opened again, each shows the logout tokens it received
(claims, accepted or rejected and why, sessions ended or logout recorded).
With --frontchannel, beta is registered for front-channel logout only, as
with an OP that reaches apps only through the browser: the OP's sign-out
page frames beta's front-channel endpoint instead of posting to it.

At startup it checks itself: it sends one valid logout token (for a session
nobody holds) and one forged token (signed by a key the OP does not publish)
to alpha's endpoint and prints both outcomes, 200 accepted and 400 rejected.
With --check (or BCLOGOUT_DEMO_CHECK=1) it exits after the self-check.
It stops cleanly on SIGINT or SIGTERM.`,
		examples: `
make demo
bclogout demo --addr 127.0.0.1:8080
BCLOGOUT_REDIS_URL=redis://127.0.0.1:6379/0 bclogout demo
bclogout demo --check`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, streams) int {
			var (
				addr     string
				redisURL string
				check    bool
				front    bool
			)
			fs.StringVar(&addr, "addr", "127.0.0.1:8080", "landing page on `HOST:PORT`; a busy port falls back to a free one")
			fs.StringVar(&redisURL, "redis-url", os.Getenv("BCLOGOUT_REDIS_URL"), "beta's Redis `URL` (default $BCLOGOUT_REDIS_URL, else an embedded miniredis)")
			fs.BoolVar(&check, "check", os.Getenv("BCLOGOUT_DEMO_CHECK") == "1", "run the self-check and exit instead of serving")
			fs.BoolVar(&front, "frontchannel", false, "register beta for front-channel logout only (no back-channel)")
			return func(ctx context.Context, args []string, s streams) int {
				return runDemo(ctx, s, demo.Config{Addr: addr, RedisURL: redisURL, FrontChannel: front}, check, args)
			}
		},
	}
}
