package jwks

import (
	"errors"

	"github.com/bclogout/bclogout/internal/discovery"
)

var (
	// ErrFetch means fetching the OP's discovery document or JWK Set
	// failed: a transport error, a timeout, a status other than 200, an
	// oversize body, or a discovery document that is not the issuer's
	// (another issuer, OpenID Connect Discovery 1.0 §4.3; a missing or
	// insecure jwks_uri). Such errors read "jwks: fetch URL: cause".
	ErrFetch = discovery.ErrFetch
	// ErrInvalidJWKS means a JWK document does not hold the keys it must:
	// a JWK Set (ParseKeySet, an OP's jwks_uri) with no usable signature
	// key, or the RP's private decryption keys (ParsePrivateSet) of which
	// one fails its checks or none is given.
	ErrInvalidJWKS = errors.New("jwks: invalid jwk set")
)
