package rp

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/bclogout/bclogout/jwks"
)

// WithJWKSOptions passes options to jwks.Discover, which Discover calls:
// the HTTP client, logger and insecure http of the discovery fetch and of
// the remote key set it creates, and the key set's refresh hook. It is the
// one way to configure Discover's HTTP side. NewVerifier refuses it: its
// key source is the caller's to configure.
func WithJWKSOptions(opts ...jwks.Option) Option {
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
//
// Its errors read "rp: discover ISSUER: " and the cause once; one about
// Discover's arguments or options is an ErrInvalidConfig error, a fetch
// failure a jwks.ErrFetch or jwks.ErrInvalidJWKS error.
func Discover(ctx context.Context, issuer, clientID string, opts ...Option) (*Verifier, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	remote, listed, err := jwks.Discover(ctx, issuer, o.jwks...)
	if err != nil {
		return nil, discoverError(issuer, err)
	}
	if len(o.algs) == 0 {
		o.algs, err = discoveredAlgs(listed, len(o.secret) > 0)
		if err != nil {
			return nil, errors.Join(err, remote.Close())
		}
	}
	t, err := newTenant(issuer, clientID, remote, o)
	if err != nil {
		return nil, errors.Join(err, remote.Close())
	}
	t.closer = remote
	return join([]*tenant{t})
}

// discoverError prefixes a jwks error of Discover once. One about
// Discover's own arguments or options already wraps ErrInvalidConfig
// (errs.Config in jwks).
func discoverError(issuer string, err error) error {
	return fmt.Errorf("rp: discover %s: %w", issuer, err)
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
