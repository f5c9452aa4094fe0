package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bclogout/bclogout/cmd/bclogout/internal/demo"
)

func runDemo(ctx context.Context, s streams, cfg demo.Config, check bool, args []string) int {
	if len(args) > 0 {
		return usageError(s, "demo", "unexpected argument %q", args[0])
	}
	logger := slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.Logger = logger
	d, err := demo.Start(ctx, cfg)
	if err != nil {
		return failure(s, "demo", err)
	}
	defer d.Close()
	redis := "embedded miniredis"
	if cfg.RedisURL != "" {
		redis = cfg.RedisURL
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
	fmt.Fprintln(s.stdout, "Log in to both RPs and press \"Sign out\" in one, or \"Sign out everywhere\" at the OP: both RP pages switch to \"Signed out\" by themselves. Ctrl-C stops the demo.")
	<-ctx.Done()
	return exitOK
}
