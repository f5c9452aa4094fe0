package jwks

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// parseURL parses raw and applies checkURL.
func parseURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInsecureURL, raw, err)
	}
	if err := checkURL(u, allowHTTP); err != nil {
		return nil, err
	}
	return u, nil
}

// checkURL requires an absolute https URL; plain http only reaches loopback
// hosts, where no network attacker sits between RP and OP.
func checkURL(u *url.URL, allowHTTP bool) error {
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: %q has no host", ErrInsecureURL, u.Redacted())
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if allowHTTP || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w: %q is http to a non-loopback host", ErrInsecureURL, u.Redacted())
	default:
		return fmt.Errorf("%w: %q: scheme must be https", ErrInsecureURL, u.Redacted())
	}
}

// isLoopback matches the name "localhost" exactly (so not
// "localhost.evil.com") and loopback IP literals.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
