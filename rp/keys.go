package rp

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"slices"

	"github.com/bclogout/bclogout/jwks"
)

var (
	rsaAlgs     = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	es256       = []string{"ES256"}
	es384       = []string{"ES384"}
	es512       = []string{"ES512"}
	ed25519Algs = []string{"EdDSA", "Ed25519"}
)

// signatureAlgs returns the algorithms k may verify by its type and curve,
// or nil when k's type does not sign. A KeySet holds signature keys only
// (jwks leaves out a use other than "sig" and key_ops without "verify"),
// converted once per fetch with RSA keys under 2048 bits refused, so this
// costs no JWK work; a key set is immutable, so nothing here is cached that a Source's
// next set could leave stale.
func signatureAlgs(k jwks.Key) []string {
	switch pk := k.Public().(type) {
	case *rsa.PublicKey:
		return rsaAlgs
	case *ecdsa.PublicKey:
		switch pk.Curve.Params().Name {
		case "P-256":
			return es256
		case "P-384":
			return es384
		case "P-521":
			return es512
		}
	case ed25519.PublicKey:
		return ed25519Algs
	}
	return nil
}

// canVerify reports whether a key whose type allows algs may verify alg:
// it must also equal the JWK's alg member when it has one (RFC 8725 §3.1).
func canVerify(k jwks.Key, algs []string, alg string) bool {
	if a := k.Algorithm(); a != "" && a != alg {
		return false
	}
	return slices.Contains(algs, alg)
}
