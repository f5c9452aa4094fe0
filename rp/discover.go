package rp

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/jwks"
)

// WithJWKSOptions passes options to the remote key set that Discover
// creates (refresh bounds, kid-miss interval, refresh hook, HTTP client,
// logger, ...); those that are also jwks.Options (HTTP client, logger,
// insecure http) apply to the discovery fetch as well. It is the one way to
// configure Discover's HTTP side. NewVerifier refuses it: its key source
// is the caller's to configure.
func WithJWKSOptions(opts ...jwks.RemoteOption) Option {
	return func(o *options) { o.jwks, o.jwksSet = append(o.jwks, opts...), true }
}

// Discover fetches issuer's discovery document and the key set at its
// jwks_uri, and fails if either cannot be had now. The Verifier then checks
// tokens with that key set (a jwks.Remote that refreshes itself, and on an
// unknown kid, and keeps its last good keys through OP outages). The
// Verifier owns the key set: Close it to stop the refresher.
//
// Without WithAlgorithms, the allowed algorithm is the one an OP uses for a
// client that registered no id_token_signed_response_alg: RS256 (OpenID
// Connect Dynamic Client Registration 1.0 §2; Discovery 1.0 §3 makes every
// OP support it). Only an OP whose id_token_signing_alg_values_supported
// lacks RS256 gets its advertised list (HMAC entries only with
// WithClientSecret). The advertised list says what the OP can do, not what
// it does for this client: accepting all of it would let a token signed
// with another of the OP's keys and algorithms through, which the OpenID
// conformance suite's "wrong alg" case checks. A client registered with
// another algorithm says so with WithAlgorithms.
func Discover(ctx context.Context, issuer, clientID string, opts ...Option) (*Verifier, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	var shared []jwks.Option
	for _, jo := range o.jwks {
		if so, ok := jo.(jwks.Option); ok {
			shared = append(shared, so)
		}
	}
	md, err := jwks.Discover(ctx, issuer, shared...)
	if err != nil {
		return nil, discoverError("discovery", err)
	}
	if len(o.algs) == 0 {
		o.algs, err = discoveredAlgs(md.IDTokenSigningAlgValuesSupported, len(o.secret) > 0)
		if err != nil {
			return nil, err
		}
	}
	remote, err := jwks.NewRemote(md.JWKSURI, o.jwks...)
	if err != nil {
		return nil, discoverError("key set", err)
	}
	// An OP whose keys cannot be fetched now is a setup problem to report
	// here, as an unreachable discovery document is, rather than as the
	// rejection of its first logout token. Later failures keep the last
	// good key set.
	if err := remote.Refresh(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("rp: key set: %w", err), remote.Close())
	}
	t, err := newTenant(issuer, clientID, remote, o)
	if err != nil {
		return nil, errors.Join(err, remote.Close())
	}
	t.closer = remote
	return join([]*tenant{t})
}

// discoverError wraps a jwks error of Discover; one about Discover's own
// arguments or options is an ErrInvalidConfig error too.
func discoverError(step string, err error) error {
	if errors.Is(err, jwks.ErrInvalidConfig) && !errors.Is(err, errs.ErrInvalidConfig) {
		return fmt.Errorf("%w: %s: %w", errs.ErrInvalidConfig, step, err)
	}
	return fmt.Errorf("rp: %s: %w", step, err)
}

// discoveredAlgs picks the allowed algorithms from an OP's discovery list:
// the RS256 registration default when the OP lists it (or lists nothing),
// otherwise the listed algorithms this package supports, HMAC ones only
// when a client secret is configured.
func discoveredAlgs(listed []string, haveSecret bool) ([]string, error) {
	if len(listed) == 0 || slices.Contains(listed, "RS256") {
		return []string{"RS256"}, nil
	}
	var algs []string
	for _, a := range listed {
		if !supportedAlg(a) || (isHMAC(a) && !haveSecret) {
			continue
		}
		algs = append(algs, a)
	}
	if len(algs) == 0 {
		return nil, configError("the OP advertises no supported signing algorithm (%q); use WithAlgorithms", listed)
	}
	return algs, nil
}
