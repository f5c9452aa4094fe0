package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

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
	}
	return nil
}

// build discovers the OP (unless --jwks-url is given) and returns the
// verifier with the flags' options, and the function that stops its key
// source's refresher.
func (v verifierFlags) build(ctx context.Context, logger *slog.Logger) (*rp.Verifier, func(), error) {
	jwksURL := v.jwksURL
	var algs []string
	if v.algs != "" {
		for _, a := range strings.Split(v.algs, ",") {
			if a = strings.TrimSpace(a); a != "" {
				algs = append(algs, a)
			}
		}
	}
	if jwksURL == "" {
		meta, err := jwks.Discover(ctx, v.issuer, jwks.WithLogger(logger))
		if err != nil {
			return nil, nil, explainDiscovery(v.issuer, err)
		}
		jwksURL = meta.JWKSURI
		if len(algs) == 0 {
			if algs, err = defaultAlgs(meta.IDTokenSigningAlgValuesSupported); err != nil {
				return nil, nil, err
			}
		}
	}
	keys, err := jwks.NewRemote(jwksURL, jwks.WithLogger(logger))
	if err != nil {
		return nil, nil, explainDiscovery(v.issuer, err)
	}
	// A JWKS that cannot be fetched now is a setup problem to report at
	// once, not as a rejection of the first token.
	if err := keys.Refresh(ctx); err != nil {
		keys.Close()
		return nil, nil, fmt.Errorf("fetching the OP's keys from %s: %w", jwksURL, err)
	}
	opts := []rp.Option{}
	if len(algs) > 0 {
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
		set, err := loadJWKSet(v.decryptionKeys)
		if err != nil {
			keys.Close()
			return nil, nil, err
		}
		opts = append(opts, rp.WithDecryptionKeys(set))
	}
	ver, err := rp.NewVerifier(v.issuer, v.clientID, keys, opts...)
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	return ver, func() { keys.Close() }, nil
}

// defaultAlgs is rp.Discover's choice for a client that registered no
// id_token_signed_response_alg: RS256, the registration default, when the
// OP lists it (or lists nothing). The advertised list says what the OP can
// do, not what it does for this client; accepting all of it lets a token
// signed with another of the OP's keys through (the OpenID conformance
// suite's "wrong alg" case). Only an OP without RS256 gets its list, minus
// none and the HMAC algorithms, which need the client secret the command
// is not given.
func defaultAlgs(listed []string) ([]string, error) {
	if len(listed) == 0 || slices.Contains(listed, "RS256") {
		return []string{"RS256"}, nil
	}
	var out []string
	for _, a := range listed {
		if !strings.HasPrefix(a, "HS") && !strings.EqualFold(a, "none") {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the OP advertises no usable signing algorithm (%q); name the client's with --alg", listed)
	}
	return out, nil
}

// explainDiscovery turns the most common mistake, a plain-http issuer on
// another host, into advice.
func explainDiscovery(issuer string, err error) error {
	if errors.Is(err, jwks.ErrInsecureURL) {
		return fmt.Errorf("%w\nthe issuer %s must use https; plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost)", err, issuer)
	}
	return err
}
