package replay

import (
	"context"
	"errors"
	"time"
)

// Errors a Cache reports. Any other error means the cache could not decide,
// and the caller must not accept the token (fail closed).
var (
	// ErrReplayed means the (issuer, jti) pair is reserved or committed and
	// has not expired: the token was seen before.
	ErrReplayed = errors.New("replay: token already used")
	// ErrFull means the cache cannot remember another pair without
	// forgetting one that is still live. The token is refused for now; the
	// OP's retry can succeed once entries expire.
	ErrFull = errors.New("replay: cache full")
	// ErrExpired means Reserve was given an until that is not in the
	// future. Such a token can no longer be accepted, so nothing is
	// remembered and the caller must refuse it (fail closed).
	ErrExpired = errors.New("replay: until is not in the future")
)

// Cache remembers the (issuer, jti) pairs of logout tokens so that each
// token is acted on once. A pair moves through two states: reserved while
// its logout runs, committed once the logout succeeded. Releasing a
// reservation forgets it, so the OP's retry of a token whose logout failed
// can still succeed.
//
// Implementations are safe for concurrent use.
type Cache interface {
	// Reserve claims the pair until the given time. It returns ErrReplayed
	// if the pair is already reserved or committed and not expired, and
	// ErrFull if it cannot remember the pair without forgetting a live one.
	Reserve(ctx context.Context, issuer, jti string, until time.Time) error
	// Commit marks a reserved pair as used; it stays remembered until the
	// time given to Reserve. Committing an unknown pair is a no-op.
	Commit(ctx context.Context, issuer, jti string) error
	// Release forgets a reserved pair that was not committed. Releasing a
	// committed or unknown pair is a no-op.
	Release(ctx context.Context, issuer, jti string) error
}
