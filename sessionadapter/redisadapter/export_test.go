package redisadapter

import "context"

// SweepNow runs the feed's periodic sweep at once.
func (r *Revocations) SweepNow(ctx context.Context) { r.sweep(ctx) }

// EncodeLogout and DecodeLogout expose the hash field codec to the fuzz
// test.
var (
	EncodeLogout = encodeLogout
	DecodeLogout = decodeLogout
)
