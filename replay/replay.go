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
	// ErrReservationLost means Commit found the pair no longer held by its
	// reservation: the claim was forgotten (a Redis failover or eviction,
	// an until that passed) or another attempt holds or consumed the
	// pair. Commit has consumed the pair all the same, but another
	// attempt may have acted on the same token meanwhile, so the caller
	// must not count the token as consumed by this attempt alone.
	ErrReservationLost = errors.New("replay: reservation lost")
)

// Reservation is the claim one Reserve call made on a pair. Commit and
// Release act on that claim only: an attempt that finishes late can never
// free or consume the claim of another attempt at the same token, such as
// the OP's retry, in this process or another.
type Reservation struct {
	Issuer string
	JTI    string
	// Until is the time given to Reserve: how long the pair is
	// remembered.
	Until time.Time
	// Token tells this claim apart from every other claim of the same
	// pair. The Cache chooses it (random bits per Reserve for a shared
	// cache) and compares it for equality only; a fixed array, so that a
	// reservation costs no allocation.
	Token [16]byte
}

// Cache remembers the (issuer, jti) pairs of logout tokens so that each
// token is acted on once. A pair moves through two states: reserved while
// its logout runs, committed once the logout succeeded. Releasing a
// reservation forgets it, so the OP's retry of a token whose logout failed
// can still succeed.
//
// Both states last until the until given to Reserve, however long the
// logout takes: a reservation that expired earlier would let the same
// token be accepted again while its first logout is still running, or
// after a Commit that failed. The price is that a claim whose process
// died before Commit or Release stays until then too, and the OP's retry
// of that token is refused as a replay: nobody can tell whether the dead
// attempt ended the sessions, and accepting the token again could end a
// session the user opened after the logout.
//
// Implementations are safe for concurrent use.
type Cache interface {
	// Reserve claims the pair until the given time and returns the claim.
	// It returns ErrReplayed if the pair is already reserved or committed
	// and not expired, ErrFull if it cannot remember the pair without
	// forgetting a live one, and ErrExpired if until is not in the future.
	//
	// Any other error may have left the claim standing (a shared cache
	// that applied the claim but whose reply was lost). Such a Reserve
	// should undo its own claim before returning when it still can, and
	// must return the Reservation it tried to make (its Token non-zero)
	// alongside the error, so that the caller can Release that claim
	// later: a claim nobody can name would refuse every delivery of the
	// token, the OP's retries included, until until. A Reservation with
	// a zero Token names no claim; releasing it is a no-op.
	Reserve(ctx context.Context, issuer, jti string, until time.Time) (Reservation, error)
	// Commit consumes the pair until r.Until: its logout succeeded. The
	// pair ends up consumed whatever happened to the claim meanwhile; if
	// the claim was no longer r's (forgotten, expired, or taken or
	// consumed by another attempt), Commit returns an error wrapping
	// ErrReservationLost. Any other error means the cache could not be
	// updated; r's claim, if it still stands, keeps guarding the pair.
	Commit(ctx context.Context, r Reservation) error
	// Release forgets the pair if r's claim still holds it, so the OP's
	// retry can succeed. It is a no-op when the pair is committed, unknown
	// or claimed by another Reserve.
	Release(ctx context.Context, r Reservation) error
}
