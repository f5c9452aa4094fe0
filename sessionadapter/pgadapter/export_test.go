package pgadapter

import "context"

// Test-only names: the DDL the adapter runs, the failure class of a
// PostgreSQL call, and the replica's memory size.
var (
	DDL   = ddl
	ErrDB = errDB
)

// SweepNow runs the feed's periodic sweep at once.
func (r *Revocations) SweepNow(ctx context.Context) { r.sweep(ctx) }
