package pgadapter

import (
	"context"
	"time"
)

// Test-only names: the DDL the adapter runs, the failure class of a
// PostgreSQL call, and the replica's memory size.
var (
	DDL   = ddl
	ErrDB = errDB
)

// SweepNow runs the feed's periodic sweep at once.
func (r *Revocations) SweepNow(ctx context.Context) { r.sweep(ctx) }

// Len reports how many revocations this replica keeps in memory.
func (r *Revocations) Len() int { return r.local.Len() }

// WithSIDClockSkew sets the sid clock skew of the replica's memory
// (sessionadapter.WithSIDClockSkew), for tests.
func WithSIDClockSkew(d time.Duration) Option {
	return Option{"WithSIDClockSkew", ctorRevocations, func(c *config) { c.sidSkew = &d }}
}
