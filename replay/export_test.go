package replay

import (
	"context"
	"time"
)

// PairCache drives a Cache by pair, as the Cache interface did before
// reservations carried a token: Commit and Release act on the pair's last
// reservation, which Release forgets. Tests written against pairs keep
// their steps through it.
type PairCache struct {
	Cache Cache
	last  map[[2]string]Reservation
}

// NewPairCache wraps c.
func NewPairCache(c Cache) *PairCache {
	return &PairCache{Cache: c, last: make(map[[2]string]Reservation)}
}

func (p *PairCache) Reserve(ctx context.Context, issuer, jti string, until time.Time) error {
	r, err := p.Cache.Reserve(ctx, issuer, jti, until)
	if err == nil {
		p.last[[2]string{issuer, jti}] = r
	}
	return err
}

// Commit commits the pair's last reservation; a pair never reserved (or
// released since) is committed through a reservation whose until has
// passed, which the Cache must not remember.
func (p *PairCache) Commit(ctx context.Context, issuer, jti string) error {
	return p.Cache.Commit(ctx, p.reservation(issuer, jti))
}

func (p *PairCache) Release(ctx context.Context, issuer, jti string) error {
	err := p.Cache.Release(ctx, p.reservation(issuer, jti))
	delete(p.last, [2]string{issuer, jti})
	return err
}

func (p *PairCache) reservation(issuer, jti string) Reservation {
	if r, ok := p.last[[2]string{issuer, jti}]; ok {
		return r
	}
	return Reservation{Issuer: issuer, JTI: jti}
}
