package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bclogout/bclogout/internal/demo"
)

func runDemo(ctx context.Context, s streams, addr, redisURL string, check bool, args []string) int {
	if len(args) > 0 {
		return usageError(s, "demo", "unexpected argument %q", args[0])
	}
	logger := slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := demo.Start(ctx, demo.Config{Addr: addr, RedisURL: redisURL, Logger: logger})
	if err != nil {
		return failure(s, "demo", err)
	}
	defer d.Close()
	redis := "embedded miniredis"
	if redisURL != "" {
		redis = redisURL
	}
	fmt.Fprintf(s.stdout, "bclogout demo: open %s\n  OP          %s\n  RP alpha    %s  (net/http, cookie sessions + guard)\n  RP beta     %s  (chi, sessions in Redis: %s)\n",
		d.URL(), d.OPURL(), d.AlphaURL(), d.BetaURL(), redis)
	results, err := d.SelfCheck(ctx)
	if err != nil {
		return failure(s, "demo", err)
	}
	ok := true
	fmt.Fprintln(s.stdout, "self-check against RP alpha's back-channel endpoint:")
	for _, r := range results {
		fmt.Fprintf(s.stdout, "  %s\n", r)
		ok = ok && r.OK
	}
	if !ok {
		fmt.Fprintln(s.stderr, "bclogout demo: the self-check failed")
		return exitNegative
	}
	if check {
		return exitOK
	}
	fmt.Fprintln(s.stdout, "Log in to both RPs and press \"Sign out everywhere\" at the OP: both RP pages switch to \"Signed out\" by themselves. Ctrl-C stops the demo.")
	<-ctx.Done()
	return exitOK
}
