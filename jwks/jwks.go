package jwks

import (
	"context"
	"errors"
)

// ErrNoKeys means a Source has no key set to offer: its first fetch has not
// succeeded yet.
var ErrNoKeys = errors.New("jwks: no keys available")

// Source supplies the keys that verify one issuer's tokens.
//
// Implementations are safe for concurrent use.
type Source interface {
	// Keys returns the current key set. When kid is not empty and no key in
	// the current set has that kid, a Source that can refresh does so first
	// (collapsed across concurrent callers and rate limited) and returns
	// the refreshed set. A KeySet is immutable: a Source whose keys change
	// returns a new one.
	Keys(ctx context.Context, kid string) (*KeySet, error)
}
