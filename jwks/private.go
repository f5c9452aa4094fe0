package jwks

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/bclogout/bclogout/internal/keycheck"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// PrivateSet is the RP's own private keys for decrypting encrypted logout
// tokens, as taken by rp.WithDecryptionKeys. [ParsePrivateSet] is the only
// way to make one, so every key in it has passed its checks once; the zero
// PrivateSet holds no key. It is immutable and holds private key material:
// never serve, log or publish it.
type PrivateSet struct {
	keys []Key
}

// All yields each key with its private key (*rsa.PrivateKey,
// *ecdsa.PrivateKey or *ecdh.PrivateKey), in the document's order; a nil
// PrivateSet yields none.
func (s *PrivateSet) All() iter.Seq2[Key, crypto.PrivateKey] {
	return func(yield func(Key, crypto.PrivateKey) bool) {
		if s == nil {
			return
		}
		for _, k := range s.keys {
			if !yield(k, k.private) {
				return
			}
		}
	}
}

// ParsePrivateSet parses the RP's own private keys for decrypting
// encrypted logout tokens (Back-Channel Logout 1.0 §2.4: a nested JWT
// encrypted with the RP's ID Token encryption keys), as taken by
// rp.WithDecryptionKeys. data is a JWK or a JWK set (RFC 7517 §4, §5).
//
// Every key must be a private key that can decrypt: RSA (2048 to 16,384
// bits, passing rsa.PrivateKey.Validate), EC on P-256, P-384 or P-521 whose
// d gives its x and y, or X25519 whose d gives its x. Public-only keys,
// symmetric (oct) keys, which rp refuses for decryption anyway, Ed25519
// keys, which only sign, keys with a use other than "enc" and keys whose
// key_ops allow none of decrypt, unwrapKey and deriveKey are refused, and
// so is an empty set: a decryption configuration that is partly wrong should fail
// at start, not on the first encrypted token. Each key keeps its kid, alg,
// use and key_ops. Every error wraps ErrInvalidJWKS.
//
// The set holds private key material: it must never be served, logged or
// published; an RP publishes only the public halves in its jwks_uri. Keep
// a key file readable by the RP alone, and read it with os.ReadFile.
func ParsePrivateSet(data []byte) (*PrivateSet, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidJWKS)
	}
	entries := []json.RawMessage{data}
	if keys, ok := top["keys"]; ok {
		if trimmed := bytes.TrimSpace(keys); len(trimmed) == 0 || trimmed[0] != '[' {
			return nil, fmt.Errorf("%w: \"keys\" is not an array", ErrInvalidJWKS)
		}
		entries = nil
		if err := json.Unmarshal(keys, &entries); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidJWKS, err)
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("%w: empty jwk set", ErrInvalidJWKS)
		}
	}
	set := &PrivateSet{keys: make([]Key, 0, len(entries))}
	for i, raw := range entries {
		k, err := jwk.ParseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrInvalidJWKS, i, err)
		}
		key, err := decryptionKey(k)
		if err != nil {
			kid, _ := k.KeyID()
			return nil, fmt.Errorf("%w: key %d (kid %q): %v", ErrInvalidJWKS, i, kid, err)
		}
		set.keys = append(set.keys, key)
	}
	return set, nil
}

// decryptionKey converts k, refusing a key that cannot decrypt or whose
// private and public members disagree. jwx derives the private key from d
// alone, so each check compares what d gives with the public members.
func decryptionKey(k jwk.Key) (Key, error) {
	if use, ok := k.KeyUsage(); ok && use != "enc" {
		return Key{}, fmt.Errorf("use %q: only an encryption key may decrypt", use)
	}
	private, err := jwk.IsPrivateKey(k)
	if err != nil {
		return Key{}, fmt.Errorf("kty %s: not an asymmetric key", k.KeyType())
	}
	if !private {
		return Key{}, errors.New("public key only (no d)")
	}
	pubKey, err := k.PublicKey()
	if err != nil {
		return Key{}, err
	}
	var priv, pub any
	if err := jwk.Export(k, &priv); err != nil {
		return Key{}, err
	}
	if err := jwk.Export(pubKey, &pub); err != nil {
		return Key{}, err
	}
	if err := checkPrivate(priv, pub); err != nil {
		return Key{}, err
	}
	key := members(k)
	if !key.permits("decrypt", "unwrapKey", "deriveKey") {
		return Key{}, fmt.Errorf("key_ops %q allow no decryption", key.ops)
	}
	key.public, key.private = pub, priv
	return key, nil
}

// checkPrivate refuses a private key that cannot decrypt or that does not
// match pub.
func checkPrivate(priv, pub any) error {
	switch p := priv.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	case *ecdh.PrivateKey:
		if p.Curve() != ecdh.X25519() {
			return fmt.Errorf("unsupported ecdh curve %v", p.Curve())
		}
	default:
		return fmt.Errorf("%T cannot decrypt", priv)
	}
	return keycheck.Private(priv, pub)
}
