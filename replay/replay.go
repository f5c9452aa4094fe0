package replay

import (
	"context"
	"time"
)

// Cache remembers the (issuer, jti) pairs of completed logouts until the
// time each token could no longer be accepted. It is a plain set with
// expiry, written once a logout has succeeded and read before the next
// one starts: running a logout twice ends nothing more than running it
// once (the revocation is dated at the token's iat), so the cache needs no
// claim, no undo and no second state.
//
// Implementations are safe for concurrent use.
type Cache interface {
	// Seen reports whether the pair was recorded and its until has not
	// passed. An error means the cache could not tell.
	Seen(ctx context.Context, issuer, jti string) (bool, error)
	// Record remembers the pair until the given time; an until that has
	// passed records nothing. Every delivery of a token records the same
	// until, and recording a pair twice is the same as recording it once,
	// so a client that resends a write whose reply was lost does no harm.
	Record(ctx context.Context, issuer, jti string, until time.Time) error
}
