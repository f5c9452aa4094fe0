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
