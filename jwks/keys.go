package jwks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v4/jwa"
	"github.com/lestrrat-go/jwx/v4/jwk"
)

// parseSet parses a JWK Set document. It insists on the {"keys": [...]}
// shape (jwk.Parse alone would also take a lone JWK) and retains entries
// it cannot parse as placeholders so that usableKeys decides about them.
func parseSet(body []byte) (jwk.Set, error) {
	var shape struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &shape); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJWKS, err)
	}
	if trimmed := bytes.TrimSpace(shape.Keys); len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, fmt.Errorf("%w: no \"keys\" array", ErrInvalidJWKS)
	}
	set, err := jwk.Parse(body, jwk.WithStrictKeySetParsing(false))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJWKS, err)
	}
	return set, nil
}

// usableKeys returns a new set with the keys that may verify signatures,
// unchanged, and one error per entry it left out: placeholders for
// entries jwx could not parse, symmetric keys (a published secret is no
// secret) and, unless convertPrivate, private keys; with convertPrivate a
// private key is replaced by its public form, all other members kept.
func usableKeys(set jwk.Set, convertPrivate bool) (jwk.Set, []error) {
	out := jwk.NewSet()
	var skipped []error
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok {
			continue
		}
		kid, _ := k.KeyID()
		if uk, ok := k.(jwk.UnsupportedKey); ok {
			skipped = append(skipped, fmt.Errorf("key %d (kid %q): unsupported: %v", i, kid, uk.Reason()))
			continue
		}
		if k.KeyType() == jwa.OctetSeq() {
			skipped = append(skipped, fmt.Errorf("key %d (kid %q): symmetric key refused", i, kid))
			continue
		}
		private, err := jwk.IsPrivateKey(k)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("key %d (kid %q): %v", i, kid, err))
			continue
		}
		if private {
			if !convertPrivate {
				skipped = append(skipped, fmt.Errorf("key %d (kid %q): private key material refused", i, kid))
				continue
			}
			if k, err = k.PublicKey(); err != nil {
				skipped = append(skipped, fmt.Errorf("key %d (kid %q): %v", i, kid, err))
				continue
			}
		}
		if err := out.AddKey(k); err != nil {
			skipped = append(skipped, fmt.Errorf("key %d (kid %q): %v", i, kid, err))
		}
	}
	return out, skipped
}

// errNoUsableKey reports why a set ended up empty.
func errNoUsableKey(skipped []error) error {
	if len(skipped) == 0 {
		return fmt.Errorf("%w: no keys", ErrInvalidJWKS)
	}
	return fmt.Errorf("%w: no usable key: %w", ErrInvalidJWKS, errors.Join(skipped...))
}
