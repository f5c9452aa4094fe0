package jwks

import (
	"context"
	"fmt"
	"os"
)

// Static is a fixed key set, for OPs whose keys are configured rather than
// fetched, and for tests.
type Static struct {
	set *KeySet
}

var _ Source = (*Static)(nil)

// ParseStatic returns a Source serving the public keys of a JWK Set
// document ({"keys": [...]}), parsed by [ParseKeySet].
//
// A private asymmetric key is accepted and replaced by its public form
// (all other members, kid and alg included, kept): a key file shared with
// the OP then works, and no private material stays reachable through
// Keys. A symmetric key is refused, since it has no public form; HMAC
// client secrets are configured on the verifier instead. An entry that
// cannot be parsed, an RSA key under 2048 bits and an empty set are
// refused too: a static configuration that is partly wrong should fail
// loudly at start.
func ParseStatic(jwksJSON []byte) (*Static, error) {
	set, err := ParseKeySet(jwksJSON)
	if err != nil {
		return nil, err
	}
	return &Static{set: set}, nil
}

// LoadStatic reads a JWK Set file and applies ParseStatic to it.
func LoadStatic(path string) (*Static, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJWKS, err)
	}
	s, err := ParseStatic(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return s, nil
}

// Keys returns the configured set whatever kid is asked for: a static set
// has nothing to refresh, so an unknown kid is the caller's to report.
func (s *Static) Keys(ctx context.Context, kid string) (*KeySet, error) {
	return s.set, nil
}
