package redisadapter

import (
	"context"

	"github.com/bclogout/bclogout/sessionadapter"
)

// SweepNow runs the feed's periodic sweep at once.
func (r *Revocations) SweepNow(ctx context.Context) { r.sweep(ctx) }

// EncodeLogout and DecodeLogout expose the hash field codec to the fuzz
// test.
var (
	EncodeLogout = encodeLogout
	DecodeLogout = decodeLogout
)

// Test-only names: the defaults and the failure class of a Redis call.
const DefaultKeyPrefix = defaultKeyPrefix

var ErrRedis = errRedis

// SessionKey returns the key of localID's session data in s (from New).
func SessionKey(s sessionadapter.Store, localID string) string { return s.(*store).sessionKey(localID) }
