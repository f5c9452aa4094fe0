package jwks

import "errors"

var (
	// ErrInsecureURL means a URL is not https and its host is not loopback.
	ErrInsecureURL = errors.New("jwks: insecure url")
	// ErrIssuerMismatch means the discovery document names another issuer
	// than the one it was fetched for (OpenID Connect Discovery 1.0 §4.3).
	ErrIssuerMismatch = errors.New("jwks: issuer mismatch")
	// ErrDiscovery wraps every failure of Discover.
	ErrDiscovery = errors.New("jwks: discovery failed")
	// ErrFetch means an HTTP request failed: transport error, timeout,
	// unexpected status or an oversize body.
	ErrFetch = errors.New("jwks: fetch failed")
	// ErrInvalidJWKS means a body or file is not a JWK Set with at least one
	// usable key.
	ErrInvalidJWKS = errors.New("jwks: invalid jwk set")
	// ErrInvalidConfig means an option or constructor argument is invalid:
	// the one error of NewRemote, and of Discover's arguments. Key
	// documents that do not parse are ErrInvalidJWKS or
	// ErrInvalidPrivateKey.
	ErrInvalidConfig = errors.New("jwks: invalid configuration")
)
