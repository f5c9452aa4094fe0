// Command bclogout tries OpenID Connect Back-Channel Logout 1.0 from a
// terminal: it receives, sends and verifies logout tokens, runs a fake OP,
// and runs the browser demo. Run "bclogout help" for the manual.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// main stays a thin wrapper so that tests drive run in-process.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
