package rp

import (
	"context"
	"errors"
	"fmt"

	"github.com/bclogout/bclogout/jwks"
)

// WithJWKSOptions passes options to the discovery fetch and the remote key
// set that Discover creates (refresh bounds, logger, ...). NewVerifier
// ignores it.
func WithJWKSOptions(opts ...jwks.Option) Option {
	return func(o *options) { o.jwksOpts = append(o.jwksOpts, opts...) }
}

// Discover fetches issuer's discovery document, verifies tokens with the
// keys at its jwks_uri (a jwks.Remote that refreshes itself and on an
// unknown kid) and, unless WithAlgorithms names the client's registered
// algorithm, allows its id_token_signing_alg_values_supported (HMAC ones
// only with WithClientSecret). The Verifier owns the remote key set: Close
// it to stop the refresher.
func Discover(ctx context.Context, issuer, clientID string, opts ...Option) (*Verifier, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	var jopts []jwks.Option
	if o.httpClient != nil {
		jopts = append(jopts, jwks.WithHTTPClient(o.httpClient))
	}
	jopts = append(jopts, o.jwksOpts...)
	md, err := jwks.Discover(ctx, issuer, jopts...)
	if err != nil {
		return nil, fmt.Errorf("rp: discovery: %w", err)
	}
	if len(o.algs) == 0 {
		o.algs, err = discoveredAlgs(md.IDTokenSigningAlgValuesSupported, len(o.secret) > 0)
		if err != nil {
			return nil, err
		}
	}
	remote, err := jwks.NewRemote(md.JWKSURI, jopts...)
	if err != nil {
		return nil, fmt.Errorf("rp: key set: %w", err)
	}
	v, err := newVerifier(issuer, clientID, remote, o)
	if err != nil {
		return nil, errors.Join(err, remote.Close())
	}
	v.closer = remote
	return v, nil
}

// discoveredAlgs keeps the algorithms of an OP's discovery list this
// package supports; HMAC ones only when a client secret is configured. An
// OP that lists nothing gets the RS256 default.
func discoveredAlgs(listed []string, haveSecret bool) ([]string, error) {
	if len(listed) == 0 {
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
		return nil, fmt.Errorf("rp: the OP advertises no supported signing algorithm (%q); use WithAlgorithms", listed)
	}
	return algs, nil
}
