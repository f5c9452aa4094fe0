package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/bclogout/bclogout/internal/opkit"
)

// parseClient reads one --client value, comma-separated KEY=VALUE members:
// id, secret, redirect and post_logout (each repeatable for several URIs),
// logout, session_required (true or false).
func parseClient(v string) (opkit.Client, error) {
	var c opkit.Client
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return c, fmt.Errorf("--client %q: %q is not KEY=VALUE", v, part)
		}
		switch k {
		case "id":
			c.ID = val
		case "secret":
			c.Secret = val
		case "redirect":
			c.RedirectURIs = append(c.RedirectURIs, val)
		case "logout":
			c.BackchannelLogoutURI = val
		case "post_logout":
			c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, val)
		case "session_required":
			if val != "true" && val != "false" {
				return c, fmt.Errorf("--client %q: session_required takes true or false, not %q", v, val)
			}
			c.SessionRequired = val == "true"
		default:
			return c, fmt.Errorf("--client %q: unknown member %q (want id, secret, redirect, logout, post_logout, session_required)", v, k)
		}
	}
	if c.ID == "" {
		return c, fmt.Errorf("--client %q: id is required", v)
	}
	return c, nil
}

// isLoopbackAddr reports whether a listen address is on loopback, where
// an OP may deliver to loopback RPs over http without being an SSRF risk
// to anyone but the machine's own user.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runOP(ctx context.Context, s streams, f opFlags, args []string) int {
	if len(args) > 0 {
		return usageError(s, "op", "unexpected argument %q", args[0])
	}
	var clients []opkit.Client
	for _, v := range f.clients {
		c, err := parseClient(v)
		if err != nil {
			return usageError(s, "op", "%v", err)
		}
		clients = append(clients, c)
	}
	logger := slog.New(slog.NewTextHandler(s.stderr, nil))
	opts := []opkit.Option{opkit.WithAlg(f.alg), opkit.WithLogger(logger)}
	if f.issuer != "" {
		opts = append(opts, opkit.WithIssuer(f.issuer))
	}
	// An OP on loopback may deliver to loopback RPs (http included) by
	// default; the private network takes --allow-private-targets=true.
	switch f.allowPrivate {
	case "":
		if isLoopbackAddr(f.addr) {
			opts = append(opts, opkit.WithAllowLoopbackTargets())
		}
	case "true":
		opts = append(opts, opkit.WithAllowPrivateTargets())
	case "false":
	default:
		return usageError(s, "op", "--allow-private-targets takes true or false")
	}
	if f.keyFile != "" {
		k, created, err := loadOrCreateSigningKey(f.keyFile, f.alg, cliKeyID)
		if err != nil {
			return failure(s, "op", err)
		}
		if created {
			fmt.Fprintf(s.stderr, "bclogout op: generated a %s signing key in %s\n", k.Alg, f.keyFile)
		}
		opts = append(opts, opkit.WithKey(k))
	}
	op, err := opkit.NewServer(f.addr, opts...)
	if err != nil {
		return failure(s, "op", err)
	}
	defer op.Close()
	for _, c := range clients {
		if err := op.RegisterClient(c); err != nil {
			return failure(s, "op", err)
		}
		fmt.Fprintf(s.stderr, "bclogout op: client %s registered (back-channel logout: %s)\n", c.ID, orNone(c.BackchannelLogoutURI))
	}
	fmt.Fprintln(s.stdout, op.Issuer())
	fmt.Fprintf(s.stderr, "bclogout op: issuer %s (discovery %s); open it in a browser for the sessions page; SIGINT stops it\n", op.Issuer(), op.DiscoveryURL())
	<-ctx.Done()
	return exitOK
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
