package jwks

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/lestrrat-go/jwx/v4/jwk"
)

// Static is a fixed key set, for OPs whose keys are configured rather than
// fetched, and for tests.
type Static struct {
	set jwk.Set
}

var _ Source = (*Static)(nil)

// NewStatic returns a Source serving the public keys of set.
//
// A private asymmetric key is accepted and replaced by its public form
// (all other members, kid and alg included, kept): a key file shared with
// the OP then works, and no private material stays reachable through
// Keys. A symmetric key is refused, since it has no public form; HMAC
// client secrets are configured on the verifier instead. An entry jwx
// could not parse is refused too, as is an empty set: a static
// configuration that is partly wrong should fail loudly at start.
func NewStatic(set jwk.Set) (*Static, error) {
	if set == nil {
		return nil, fmt.Errorf("%w: nil set", ErrInvalidJWKS)
	}
	out, skipped := usableKeys(set, true)
	if len(skipped) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJWKS, errors.Join(skipped...))
	}
	if out.Len() == 0 {
		return nil, errNoUsableKey(nil)
	}
	return &Static{set: out}, nil
}

// ParseStatic parses a JWK Set ({"keys": [...]}) and applies NewStatic's
// rules to it.
func ParseStatic(jwksJSON []byte) (*Static, error) {
	set, err := parseSet(jwksJSON)
	if err != nil {
		return nil, err
	}
	return NewStatic(set)
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
func (s *Static) Keys(ctx context.Context, kid string) (jwk.Set, error) {
	return s.set, nil
}
