package main

import "context"

func runDemo(ctx context.Context, s streams, addr, redisURL string, check bool, args []string) int {
	return exitFailure
}
