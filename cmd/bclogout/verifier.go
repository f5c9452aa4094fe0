package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
)

// check validates the required flags, as a usage error message.
func (v verifierFlags) check() error {
	switch {
	case v.issuer == "":
		return errors.New("--issuer is required")
	case v.clientID == "":
		return errors.New("--client-id is required")
	case v.maxAge < 0:
		return errors.New("--max-age must not be negative")
	case v.requireEncrypt && v.decryptionKeys == "":
		return errors.New("--require-encryption needs --decryption-keys")
	}
	return nil
}

// build discovers the OP with rp.Discover, or, with --jwks-url, uses that
// key set and the RS256 default, and returns the verifier with the flags'
// options and the function that stops its key set's refresher. Either way
// the keys are fetched now, so an unreachable JWKS is reported at once, not
// as the rejection of the first token.
func (v verifierFlags) build(ctx context.Context, logger *slog.Logger) (*rp.Verifier, func(), error) {
	var opts []rp.Option
	if v.algs != "" {
		var algs []string
		for _, a := range strings.Split(v.algs, ",") {
			if a = strings.TrimSpace(a); a != "" {
				algs = append(algs, a)
			}
		}
		opts = append(opts, rp.WithAlgorithms(algs...))
	}
	if v.maxAge > 0 {
		opts = append(opts, rp.WithMaxAge(v.maxAge))
	}
	if v.requireTyp {
		opts = append(opts, rp.WithRequireExplicitType())
	}
	if v.requireExp {
		opts = append(opts, rp.WithRequireExp())
	}
	if v.decryptionKeys != "" {
		set, err := loadPrivateSet(v.decryptionKeys)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, rp.WithDecryptionKeys(set))
	}
	if v.requireEncrypt {
		opts = append(opts, rp.WithRequireEncryption())
	}
	if v.jwksURL == "" {
		opts = append(opts, rp.WithJWKSOptions(jwks.WithLogger(logger)))
		ver, err := rp.Discover(ctx, v.issuer, v.clientID, opts...)
		if err != nil {
			return nil, nil, explainDiscovery(v.issuer, err)
		}
		return ver, func() { ver.Close() }, nil
	}
	keys, err := jwks.NewRemote(v.jwksURL, jwks.WithLogger(logger))
	if err != nil {
		return nil, nil, explainDiscovery(v.jwksURL, err)
	}
	// A first fetch that fails is reported now rather than as the refusal
	// of the first token; its error names the URL.
	if _, err := keys.Keys(ctx, ""); err != nil {
		keys.Close()
		return nil, nil, err
	}
	ver, err := rp.NewVerifier(v.issuer, v.clientID, keys, opts...)
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	return ver, func() { keys.Close() }, nil
}

// explainDiscovery turns the most common mistake, a plain-http issuer (or
// JWKS URL) on another host, into advice. A loopback URL's configuration
// error is another one (an --alg never allowed), which the advice would
// misname.
func explainDiscovery(rawURL string, err error) error {
	if u, perr := url.Parse(rawURL); perr == nil && strings.EqualFold(u.Scheme, "http") && !discovery.IsLoopback(u.Hostname()) && errors.Is(err, errs.ErrInvalidConfig) {
		return fmt.Errorf("%w\n%s must use https; plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost)", err, rawURL)
	}
	return err
}
