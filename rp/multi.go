package rp

import (
	"context"
	"errors"
	"fmt"
)

// MultiVerifier validates logout tokens from several OPs at one endpoint,
// for a multi-tenant RP. The token's unverified iss only selects which
// Verifier validates it, by exact match; that Verifier then checks
// everything, signature included, with its own OP's keys and policy.
type MultiVerifier struct {
	byIssuer map[string]*Verifier
	// order keeps the constructor's order for trying decryption keys.
	order []*Verifier
}

var _ TokenVerifier = (*MultiVerifier)(nil)

// NewMultiVerifier returns a MultiVerifier over vs. Two Verifiers for the
// same issuer are a configuration error.
func NewMultiVerifier(vs ...*Verifier) (*MultiVerifier, error) {
	if len(vs) == 0 {
		return nil, errors.New("rp: at least one verifier is required")
	}
	m := &MultiVerifier{byIssuer: make(map[string]*Verifier, len(vs))}
	for _, v := range vs {
		if v == nil {
			return nil, errors.New("rp: nil verifier")
		}
		if _, dup := m.byIssuer[v.issuer]; dup {
			return nil, fmt.Errorf("rp: two verifiers for issuer %q", v.issuer)
		}
		m.byIssuer[v.issuer] = v
		m.order = append(m.order, v)
	}
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
	var decryptedWith *Verifier
	switch segments(rawToken) {
	case 2:
		if err := parseJWS(rawToken, &t); err != nil {
			return nil, err
		}
	case 4:
		var err error
		if decryptedWith, err = m.decrypt(rawToken, &t); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: not a compact JWS or JWE", ErrMalformed)
	}
	iss, _ := t.claims["iss"].(string)
	v, ok := m.byIssuer[iss]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a configured issuer", ErrIssuer, clip(iss))
	}
	if t.encrypted && !sameSet(decryptedWith.opts.decryptionKeys, v.opts.decryptionKeys) && !m.decryptedBy(v, rawToken, &t) {
		return nil, &issuerError{issuer: v.issuer, err: fmt.Errorf("%w: issuer's decryption keys do not decrypt the token", ErrEncryption)}
	}
	ev, err := v.verifyToken(ctx, &t)
	if err != nil {
		return nil, &issuerError{issuer: v.issuer, err: err}
	}
	return ev, nil
}

// decrypt opens a JWE with the first Verifier's keys that can, so that its
// issuer can be read; decryptedBy then holds the selected Verifier to its
// own keys.
func (m *MultiVerifier) decrypt(raw string, t *token) (*Verifier, error) {
	err := fmt.Errorf("%w: encrypted token but no decryption keys configured", ErrEncryption)
	for _, v := range m.order {
		if v.opts.decryptionKeys == nil || v.opts.decryptionKeys.Len() == 0 {
			continue
		}
		inner, derr := decrypt(raw, v.opts.decryptionKeys)
		if derr != nil {
			err = derr
			continue
		}
		if perr := parseJWS(inner, t); perr != nil {
			return nil, perr
		}
		t.encrypted = true
		return v, nil
	}
	return nil, err
}

// decryptedBy reports whether v's own decryption keys open raw: a token
// for one tenant must not be accepted because another tenant's keys
// happened to decrypt it.
func (m *MultiVerifier) decryptedBy(v *Verifier, raw string, t *token) bool {
	if v.opts.decryptionKeys == nil || v.opts.decryptionKeys.Len() == 0 {
		return false
	}
	inner, err := decrypt(raw, v.opts.decryptionKeys)
	return err == nil && inner == t.compact
}

// Close closes every Verifier.
func (m *MultiVerifier) Close() error {
	var errs []error
	for _, v := range m.order {
		errs = append(errs, v.Close())
	}
	return errors.Join(errs...)
}
