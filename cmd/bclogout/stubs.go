package main

import "context"

func runReceive(ctx context.Context, s streams, vf verifierFlags, addr, path string, args []string) int {
	return exitFailure
}
func runVerify(ctx context.Context, s streams, vf verifierFlags, args []string) int {
	return exitFailure
}
func runOP(ctx context.Context, s streams, addr string, clients listFlag, alg, keyFile string, args []string) int {
	return exitFailure
}
func runDemo(ctx context.Context, s streams, addr, redisURL string, check bool, args []string) int {
	return exitFailure
}
