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

// WithSIDClockSkew sets the sid clock skew of the replica's memory
// (sessionadapter.WithSIDClockSkew), for tests.
func WithSIDClockSkew(d time.Duration) Option {
	return Option{"WithSIDClockSkew", ctorRevocations, func(c *config) { c.sidSkew = &d }}
}

// SessionKey returns the key of localID's session data in s (from New).
func SessionKey(s sessionadapter.Store, localID string) string { return s.(*store).sessionKey(localID) }
