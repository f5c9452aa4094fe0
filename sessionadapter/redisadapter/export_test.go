package redisadapter

import (
	"context"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// SweepNow runs the feed's periodic sweep at once.
func (r *Revocations) SweepNow(ctx context.Context) { r.sweep(ctx) }

// Len reports how many revocations this replica keeps in memory.
func (r *Revocations) Len() int { return r.local.Len() }

// EncodeLogout and DecodeLogout expose the hash field codec to the fuzz
// test.
var (
	EncodeLogout = encodeLogout
	DecodeLogout = decodeLogout
)

// Test-only names: the defaults and the failure class of a Redis call.
const DefaultKeyPrefix = defaultKeyPrefix

var ErrRedis = errRedis

// WithEndAllUserSessions makes the Store's sid logouts delete the data of
// all the user's sessions. Apps need not: the revocation of the user's
// sub, which sessionadapter.NewRevokingEnder records under its own
// WithEndAllUserSessions, already ends them at their next request; the
// store's part is hygiene. Kept for the shared store contract tests.
func WithEndAllUserSessions() Option {
	return Option{"WithEndAllUserSessions", ctorStore, func(c *config) { c.endAll = true }}
}

// WithSIDClockSkew sets the sid clock skew of the replica's memory
// (sessionadapter.WithSIDClockSkew), for tests.
func WithSIDClockSkew(d time.Duration) Option {
	return Option{"WithSIDClockSkew", ctorRevocations, func(c *config) { c.sidSkew = &d }}
}

// SessionKey returns the key of localID's session data in s (from New).
func SessionKey(s sessionadapter.Store, localID string) string { return s.(*store).sessionKey(localID) }
