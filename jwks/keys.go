package jwks

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/big"
	"slices"

	"github.com/bclogout/bclogout/internal/keycheck"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Key is one key of a [KeySet] or a [PrivateSet], converted from its JWK
// once when the set was parsed or fetched, so that verifying a token costs
// no JWK work. A Key is a value: the sets hand out copies, so nothing a
// caller does to one changes a set. It carries only standard-library types:
// the JOSE library that parsed it is not part of this API, so a major
// upgrade of that library changes nothing for callers.
type Key struct {
	kid     string
	alg     string
	use     string
	ops     []string
	hasOps  bool
	public  crypto.PublicKey
	private crypto.PrivateKey
}

// KeyID is the JWK's "kid" member, "" when absent.
func (k Key) KeyID() string { return k.kid }

// Algorithm is the JWK's "alg" member, "" when absent. When set, it is the
// only algorithm the key may be used with (RFC 8725 §3.1).
func (k Key) Algorithm() string { return k.alg }

// permits reports whether the JWK's "key_ops" member allows one of ops:
// true when key_ops is absent.
func (k Key) permits(ops ...string) bool {
	return !k.hasOps || slices.ContainsFunc(ops, func(op string) bool { return slices.Contains(k.ops, op) })
}

// Public is the public key: *rsa.PublicKey, *ecdsa.PublicKey,
// ed25519.PublicKey or *ecdh.PublicKey (X25519).
func (k Key) Public() crypto.PublicKey { return k.public }

// KeySet is an OP's public signature keys, what a [Source] returns:
// immutable, so a Source that changes its keys hands out a new KeySet, and
// whoever holds the old one keeps a consistent view. The zero KeySet holds
// no key. A KeySet is itself a Source that never changes, for OPs whose
// keys are configured rather than fetched, and for tests.
type KeySet struct {
	keys []Key
	kids map[string]struct{}
}

var _ Source = (*KeySet)(nil)

// ParseKeySet parses a JWK Set document ({"keys": [...]}, RFC 7517 §5)
// into a KeySet: a fixed Source, or the set a Source of one's own returns.
//
// A private asymmetric key is accepted and replaced by its public form
// (kid, alg, use and key_ops kept): a key file shared with the OP then
// works, and no private material stays reachable through Keys. Keys for
// anything but signatures (use other than "sig", key_ops without
// "verify") are left out. A symmetric key is refused, since it has no
// public form (HMAC client secrets are configured on the verifier), and so
// are an entry that cannot be parsed, an RSA key under 2048 or over 16,384
// bits, an Ed25519 key of small order (anyone can sign for it) and a set
// left with no key: a static configuration that is partly wrong should
// fail loudly at start. Every error wraps ErrInvalidJWKS.
func ParseKeySet(jwksJSON []byte) (*KeySet, error) {
	set, err := parseSet(jwksJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJWKS, err)
	}
	out, skipped := publicKeys(set, true)
	if len(skipped) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJWKS, errors.Join(skipped...))
	}
	if out.len() == 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJWKS, errNoUsableKey(nil))
	}
	return out, nil
}

// Keys returns s whatever kid is asked for: a fixed set has nothing to
// refresh, so an unknown kid is the caller's to report.
func (s *KeySet) Keys(ctx context.Context, kid string) (*KeySet, error) {
	return s, nil
}

// All yields the keys in the document's order; a nil KeySet yields none.
func (s *KeySet) All() iter.Seq[Key] {
	return func(yield func(Key) bool) {
		if s == nil {
			return
		}
		for _, k := range s.keys {
			if !yield(k) {
				return
			}
		}
	}
}

// len is the number of keys.
func (s *KeySet) len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// hasKeyID reports whether a key of the set has kid.
func (s *KeySet) hasKeyID(kid string) bool {
	_, ok := s.kids[kid]
	return ok
}

func newKeySet(keys []Key) *KeySet {
	s := &KeySet{keys: keys, kids: make(map[string]struct{}, len(keys))}
	for _, k := range keys {
		if k.kid != "" {
			s.kids[k.kid] = struct{}{}
		}
	}
	return s
}

// parseSet parses a JWK Set document. It insists on the {"keys": [...]}
// shape (jwk.Parse alone would also take a lone JWK) and retains entries
// it cannot parse as placeholders so that publicKeys decides about them.
func parseSet(body []byte) (jwk.Set, error) {
	var shape struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &shape); err != nil {
		return nil, err
	}
	if trimmed := bytes.TrimSpace(shape.Keys); len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, errors.New("no \"keys\" array")
	}
	set, err := jwk.Parse(body, jwk.WithStrictKeySetParsing(false))
	if err != nil {
		return nil, err
	}
	return set, nil
}

// publicKeys converts the keys of set that may verify signatures, and
// returns one error per entry it left out: placeholders for entries jwx
// could not parse, symmetric keys (a published secret is no secret), RSA
// keys under keycheck.MinRSABits or over keycheck.MaxRSABits, Ed25519
// keys of small order and, unless convertPrivate, private keys (an RSA key
// without d that kept another private member too); with convertPrivate a
// private key is replaced by its public form. Keys for other uses than
// signatures (an OP may publish its encryption keys beside them) are left
// out without an error.
func publicKeys(set jwk.Set, convertPrivate bool) (*KeySet, []error) {
	out := make([]Key, 0, set.Len())
	var skipped []error
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		key, err := publicKey(k, convertPrivate)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("key %d (kid %q): %w", i, kid, err))
			continue
		}
		if (key.use != "" && key.use != "sig") || !key.permits("verify") {
			continue
		}
		out = append(out, key)
	}
	return newKeySet(out), skipped
}

func publicKey(k jwk.Key, convertPrivate bool) (Key, error) {
	if uk, ok := k.(jwk.UnsupportedKey); ok {
		return Key{}, fmt.Errorf("unsupported: %v", uk.Reason())
	}
	if k.KeyType() == jwa.OctetSeq() {
		return Key{}, errors.New("symmetric key refused")
	}
	private, err := jwk.IsPrivateKey(k)
	if err != nil {
		return Key{}, err
	}
	if (private || leaksRSA(k)) && !convertPrivate {
		return Key{}, errors.New("private key material refused")
	}
	pub, err := k.PublicKey()
	if err != nil {
		return Key{}, err
	}
	var raw any
	if err := jwk.Export(pub, &raw); err != nil {
		return Key{}, err
	}
	if err := checkRSASize(raw); err != nil {
		return Key{}, err
	}
	if ed, ok := raw.(ed25519.PublicKey); ok && smallOrder(ed) {
		return Key{}, errors.New("ed25519 key of small order refused")
	}
	key := members(k)
	key.public = raw
	return key, nil
}

// rsaPrivateMembers are the private members of an RSA JWK besides "d"
// (RFC 7518 §6.3.2).
var rsaPrivateMembers = []string{"p", "q", "dp", "dq", "qi", "oth"}

// leaksRSA reports an RSA JWK without "d", which jwx therefore reads as a
// public key, that still carries a private member: an OP that publishes its
// key by deleting "d" leaves p and q, either of which factors n, and dp or
// dq, which do too given e. Whoever reads the JWK Set can then sign.
func leaksRSA(k jwk.Key) bool {
	return k.KeyType() == jwa.RSA() && slices.ContainsFunc(rsaPrivateMembers, k.Has)
}

// members copies the JWK members a Key carries.
func members(k jwk.Key) Key {
	var key Key
	key.kid, _ = k.KeyID()
	if a, ok := k.Algorithm(); ok {
		key.alg = a.String()
	}
	key.use, _ = k.KeyUsage()
	if ops, ok := k.KeyOps(); ok {
		key.hasOps = true
		for _, op := range ops {
			key.ops = append(key.ops, string(op))
		}
	}
	return key
}

// checkRSASize refuses an RSA key under keycheck.MinRSABits or over
// keycheck.MaxRSABits.
func checkRSASize(raw any) error {
	var n int
	switch k := raw.(type) {
	case *rsa.PublicKey:
		n = k.N.BitLen()
	case *rsa.PrivateKey:
		n = k.N.BitLen()
	default:
		return nil
	}
	return keycheck.RSASize(n)
}

// smallOrder reports whether the Ed25519 public key a is a point of small
// order. crypto/ed25519 verifies as RFC 8032 §5.1.7 allows, without
// refusing such a key, and then accepts a signature that anyone makes (R of
// small order, S = 0) for about one message in eight: whoever can read the
// JWK Set could sign. The eight such points have y = 1 (the identity),
// y = -1 (order 2), y = 0 (order 4) or y = ±y8 (order 8); y is compared
// modulo p, as crypto/ed25519 also decodes y ≥ p.
func smallOrder(a ed25519.PublicKey) bool {
	if len(a) != ed25519.PublicKeySize {
		return true // no point at all (jwx checks the length today)
	}
	y := new(big.Int).SetBytes(littleEndian(a, 0x7f)) // without the sign of x
	y.Mod(y, ed25519P)
	minus := new(big.Int).Sub(ed25519P, y)
	for _, small := range []*big.Int{big.NewInt(0), big.NewInt(1), ed25519Y8} {
		if y.Cmp(small) == 0 || minus.Cmp(small) == 0 {
			return true
		}
	}
	return false
}

var (
	// ed25519P is the field prime 2^255 - 19.
	ed25519P = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// ed25519Y8 is the y of two of the four points of order 8; -y8 is the
	// other two's.
	ed25519Y8 = new(big.Int).SetBytes(littleEndian([]byte{
		0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
	}, 0xff))
)

// littleEndian returns the big-endian copy of the little-endian b, its last
// byte masked with top.
func littleEndian(b []byte, top byte) []byte {
	be := bytes.Clone(b)
	be[len(be)-1] &= top
	slices.Reverse(be)
	return be
}

// errNoUsableKey reports why a set ended up with no signature key.
func errNoUsableKey(skipped []error) error {
	if len(skipped) == 0 {
		return errors.New("no signature key")
	}
	return fmt.Errorf("no usable signature key: %w", errors.Join(skipped...))
}
