package jwks

import "context"

// Source supplies the keys that verify one issuer's tokens.
//
// Implementations are safe for concurrent use.
type Source interface {
	// Keys returns the current key set. When kid is not empty and no key in
	// the current set has that kid, a Source that can refresh does so first
	// (collapsed across concurrent callers and rate limited) and returns
	// the refreshed set. A KeySet is immutable: a Source whose keys change
	// returns a new one. A Source with no set to offer (its first fetch
	// has not succeeded) returns an error.
	Keys(ctx context.Context, kid string) (*KeySet, error)
}
