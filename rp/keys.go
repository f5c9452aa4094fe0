package rp

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"reflect"
	"slices"
	"sync/atomic"

	"github.com/lestrrat-go/jwx/v4/jwk"
)

// minRSABits is RFC 7518 §3.3's floor for RS*/PS* keys.
const minRSABits = 2048

// verifyKey is one signature-verification key of an OP's set, converted
// once per key set generation so a Verify pays no JWK conversion.
type verifyKey struct {
	kid    string
	hasKid bool
	// alg is the JWK's alg member: when set, the only algorithm the key
	// may verify (RFC 8725 §3.1).
	alg string
	// algs are the algorithms the key type allows when alg is unset.
	algs []string
	raw  any
}

func (k *verifyKey) canVerify(alg string) bool {
	if !slices.Contains(k.algs, alg) {
		return false
	}
	return k.alg == "" || k.alg == alg
}

// keyGeneration is the converted form of one jwk.Set.
type keyGeneration struct {
	set  jwk.Set
	n    int
	keys []verifyKey
}

// keyCache remembers the conversion of the key set a Source returned last.
// Sources hand out a new set when they refresh, so set identity (plus its
// length, against a Source that mutates a set in place) marks a generation.
type keyCache struct {
	gen atomic.Pointer[keyGeneration]
}

func (c *keyCache) keys(set jwk.Set) []verifyKey {
	if g := c.gen.Load(); g != nil && sameSet(g.set, set) && g.n == set.Len() {
		return g.keys
	}
	g := &keyGeneration{set: set, n: set.Len(), keys: convertSet(set)}
	c.gen.Store(g)
	return g.keys
}

// sameSet compares set identities without panicking on a Set
// implementation of a non-comparable type (such sets are never cached).
func sameSet(a, b jwk.Set) bool {
	if a == nil || b == nil {
		return false
	}
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || !ta.Comparable() {
		return false
	}
	return a == b
}

// convertSet keeps the keys usable for signature verification: use absent
// or "sig", key_ops absent or containing "verify", a public key of a known
// type (private members are dropped), RSA keys of at least 2048 bits.
func convertSet(set jwk.Set) []verifyKey {
	out := make([]verifyKey, 0, set.Len())
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok {
			continue
		}
		if vk, ok := convertKey(k); ok {
			out = append(out, vk)
		}
	}
	return out
}

func convertKey(k jwk.Key) (verifyKey, bool) {
	if use, ok := k.KeyUsage(); ok && use != "sig" {
		return verifyKey{}, false
	}
	if ops, ok := k.KeyOps(); ok && !slices.Contains(ops, jwk.KeyOpVerify) {
		return verifyKey{}, false
	}
	pub, err := k.PublicKey()
	if err != nil {
		return verifyKey{}, false
	}
	raw, err := jwk.Export[any](pub)
	if err != nil {
		return verifyKey{}, false
	}
	vk := verifyKey{raw: raw}
	vk.kid, vk.hasKid = k.KeyID()
	if a, ok := k.Algorithm(); ok {
		vk.alg = a.String()
	}
	switch rk := raw.(type) {
	case *rsa.PublicKey:
		if rk.N.BitLen() < minRSABits {
			return verifyKey{}, false
		}
		vk.algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		switch rk.Curve.Params().Name {
		case "P-256":
			vk.algs = []string{"ES256"}
		case "P-384":
			vk.algs = []string{"ES384"}
		case "P-521":
			vk.algs = []string{"ES512"}
		default:
			return verifyKey{}, false
		}
	case ed25519.PublicKey:
		vk.algs = []string{"EdDSA", "Ed25519"}
	default:
		return verifyKey{}, false
	}
	return vk, true
}
