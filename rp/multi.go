package rp

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/bclogout/bclogout/jwks"
)

// MultiVerifier validates logout tokens from several OPs at one endpoint,
// for a multi-tenant RP. The token's unverified iss only selects which
// Verifier validates it, by exact match; that Verifier then checks
// everything, signature included, with its own OP's keys and policy.
//
// An encrypted token is opened before its iss can be read. Every tenant's
// decryption keys are tried in one pass, each distinct key once, and at
// most 4 keys per token whatever the number of tenants, so a garbage JWE
// costs at most 4 private-key operations. A JWE with a kid only tries the
// keys with that kid; one without a kid needs at most 4 candidate keys
// among all tenants to be sure to open. The issuer the token names must
// hold the key that opened it.
type MultiVerifier struct {
	byIssuer map[string]*Verifier
	// order keeps the constructor's order.
	order []*Verifier
	// decKeys are every tenant's decryption keys, each distinct key once,
	// in the constructor's order: one bounded pass over them opens a JWE.
	decKeys []decryptionKey
}

var _ TokenVerifier = (*MultiVerifier)(nil)

// NewMultiVerifier returns a MultiVerifier over vs. Two Verifiers for the
// same issuer are a configuration error.
func NewMultiVerifier(vs ...*Verifier) (*MultiVerifier, error) {
	if len(vs) == 0 {
		return nil, configError("at least one verifier is required")
	}
	m := &MultiVerifier{byIssuer: make(map[string]*Verifier, len(vs))}
	for _, v := range vs {
		if v == nil {
			return nil, configError("nil verifier")
		}
		if _, dup := m.byIssuer[v.issuer]; dup {
			return nil, configError("two verifiers for issuer %q", v.issuer)
		}
		m.byIssuer[v.issuer] = v
		m.order = append(m.order, v)
	}
	var sets []*jwks.PrivateSet
	var owners []*Verifier
	for _, v := range m.order {
		if v.opts.decryptionKeys.Len() > 0 {
			sets, owners = append(sets, v.opts.decryptionKeys), append(owners, v)
		}
	}
	m.decKeys = decryptionKeys(sets, owners)
	return m, nil
}

// Verifier returns the Verifier configured for issuer, if any.
func (m *MultiVerifier) Verifier(issuer string) (*Verifier, bool) {
	v, ok := m.byIssuer[issuer]
	return v, ok
}

// Verify validates rawToken with the Verifier of its issuer. An iss that
// is not configured is ErrIssuer.
func (m *MultiVerifier) Verify(ctx context.Context, rawToken string) (*LogoutEvent, error) {
	var t token
	openedBy, err := open(rawToken, m.decKeys, &t)
	if err != nil {
		return nil, err
	}
	iss, _ := t.claims["iss"].(string)
	v, ok := m.byIssuer[iss]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a configured issuer", ErrIssuer, clip(iss))
	}
	// A token for one tenant must not be accepted because another tenant's
	// key happened to open it.
	if openedBy != nil && !slices.Contains(openedBy.owners, v) {
		return nil, &issuerError{issuer: v.issuer, err: fmt.Errorf("%w: issuer's decryption keys do not decrypt the token", ErrEncryption)}
	}
	ev, err := v.verifyToken(ctx, &t)
	if err != nil {
		return nil, &issuerError{issuer: v.issuer, err: err}
	}
	return ev, nil
}

// Close closes every Verifier.
func (m *MultiVerifier) Close() error {
	var errs []error
	for _, v := range m.order {
		errs = append(errs, v.Close())
	}
	return errors.Join(errs...)
}
