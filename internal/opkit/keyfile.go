package opkit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bclogout/bclogout/internal/keycheck"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Key files are read and written with jwx, the JOSE library the rest of
// the project uses: nothing about a private JWK needs hand-written code,
// unlike the tokens this package mints (see the package documentation).

// ErrInvalidJWK means data is not a private JWK (RFC 7517 §4, RFC 7518 §6)
// this package can use: not a JWK or JWK set, a key jwx cannot parse, a
// public key where a private one is needed, key material that is
// inconsistent, or an alg or use that does not fit the key.
var ErrInvalidJWK = errors.New("fakeop: invalid jwk")

// PrivateJWK returns k as a private JWK (RFC 7518 §6): kty, kid (when set),
// alg (when set), use "sig" and the private members, as jwx writes them.
// ParsePrivateJWK reads it back. A key jwx cannot export gives kty
// "unknown", as PublicJWK does.
func (k *Key) PrivateJWK() map[string]any {
	m, err := privateJWK(k.Signer, k.ID, k.Alg, "sig")
	if err != nil {
		return map[string]any{"kty": "unknown"}
	}
	return m
}

// privateJWK converts a private key to its JWK members with jwx.
func privateJWK(priv any, kid, alg, use string) (map[string]any, error) {
	k, err := jwk.Import(priv)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]string{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: use} {
		if v == "" {
			continue
		}
		if err := k.Set(name, v); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// ParsePrivateJWK reads a private signing key: a JWK, or the first key of a
// JWK set, as PrivateJWK or any JOSE library writes it. Key material is
// checked, not trusted: an RSA key must pass rsa.PrivateKey.Validate, an EC
// or Ed25519 d must yield the public members. Without alg the key type's
// usual one is assumed (RSA RS256, P-256 ES256, P-384 ES384, P-521 ES512,
// Ed25519 EdDSA); an alg that does not fit the key, or a use other than
// "sig", is refused.
func ParsePrivateJWK(data []byte) (*Key, error) {
	jk, priv, err := parsePrivate(data, "sig")
	if err != nil {
		return nil, err
	}
	k := &Key{}
	k.ID, _ = jk.KeyID()
	if a, ok := jk.Algorithm(); ok {
		k.Alg = a.String()
	}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		k.Signer = p
		if k.Alg == "" {
			k.Alg = "RS256"
		}
	case *ecdsa.PrivateKey:
		k.Signer = p
		if k.Alg == "" {
			k.Alg = esAlgFor(p.Curve.Params().Name)
		}
	case ed25519.PrivateKey:
		k.Signer = p
		if k.Alg == "" {
			k.Alg = "EdDSA"
		}
	default:
		return nil, fmt.Errorf("%w: a %T cannot sign", ErrInvalidJWK, priv)
	}
	if err := checkSigningAlg(k); err != nil {
		return nil, err
	}
	return k, nil
}

// ParseEncryptionJWK reads the RP's key that an OP encrypts logout tokens
// to: a JWK, or the first key of a JWK set, as EncryptionKey.PrivateJWKS
// writes it. An RSA key may be public or private (only its public half is
// used to encrypt) and takes alg RSA-OAEP-256 (default) or RSA-OAEP; an EC
// key must be a private P-256 key, since EncryptionKey holds ECDH keys as
// *ecdh.PrivateKey, and takes ECDH-ES. Enc is A256GCM: a JWK has no member
// for the content encryption. A use other than "enc" is refused.
func ParseEncryptionJWK(data []byte) (*EncryptionKey, error) {
	jk, err := firstJWK(data, "enc")
	if err != nil {
		return nil, err
	}
	ek := &EncryptionKey{Enc: "A256GCM"}
	ek.ID, _ = jk.KeyID()
	if a, ok := jk.Algorithm(); ok {
		ek.Alg = a.String()
	}
	switch jk.KeyType().String() {
	case "RSA":
		if private, _ := jwk.IsPrivateKey(jk); private {
			_, priv, err := checkedPrivate(jk)
			if err != nil {
				return nil, err
			}
			ek.Private = priv
		} else {
			var raw any
			if err := jwk.Export(jk, &raw); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidJWK, err)
			}
			pub, ok := raw.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("%w: not an RSA public key", ErrInvalidJWK)
			}
			if err := keycheck.RSASize(pub.N.BitLen()); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidJWK, err)
			}
			// Only the public half is used: a private key without
			// private members.
			ek.Private = &rsa.PrivateKey{PublicKey: *pub}
		}
		switch ek.Alg {
		case "":
			ek.Alg = "RSA-OAEP-256"
		case "RSA-OAEP-256", "RSA-OAEP":
		default:
			return nil, fmt.Errorf("%w: alg %q with an RSA encryption key", ErrInvalidJWK, ek.Alg)
		}
	case "EC":
		_, priv, err := checkedPrivate(jk)
		if err != nil {
			return nil, err
		}
		p, ok := priv.(*ecdsa.PrivateKey)
		if !ok || p.Curve.Params().Name != "P-256" {
			return nil, fmt.Errorf("%w: an EC encryption key must be a private P-256 key", ErrInvalidJWK)
		}
		if ek.Private, err = p.ECDH(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidJWK, err)
		}
		switch ek.Alg {
		case "":
			ek.Alg = "ECDH-ES"
		case "ECDH-ES":
		default:
			return nil, fmt.Errorf("%w: alg %q with an EC encryption key", ErrInvalidJWK, ek.Alg)
		}
	default:
		return nil, fmt.Errorf("%w: kty %q is not RSA or EC", ErrInvalidJWK, jk.KeyType())
	}
	return ek, nil
}

// firstJWK parses a JWK, or the first key of a JWK set (RFC 7517 §5), and
// refuses a use other than use.
func firstJWK(data []byte, use string) (jwk.Key, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidJWK)
	}
	raw := data
	if keys, ok := top["keys"]; ok {
		var set []json.RawMessage
		if err := json.Unmarshal(keys, &set); err != nil || set == nil {
			return nil, fmt.Errorf("%w: \"keys\" is not an array", ErrInvalidJWK)
		}
		if len(set) == 0 {
			return nil, fmt.Errorf("%w: empty jwk set", ErrInvalidJWK)
		}
		raw = set[0]
	}
	k, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJWK, err)
	}
	if u, ok := k.KeyUsage(); ok && u != use {
		return nil, fmt.Errorf("%w: use %q, want %q", ErrInvalidJWK, u, use)
	}
	return k, nil
}

// parsePrivate reads the first JWK of data as a checked private key.
func parsePrivate(data []byte, use string) (jwk.Key, any, error) {
	k, err := firstJWK(data, use)
	if err != nil {
		return nil, nil, err
	}
	return checkedPrivate(k)
}

// checkedPrivate exports k's private key and checks it against its public
// members: jwx derives the private key from d alone.
func checkedPrivate(k jwk.Key) (jwk.Key, any, error) {
	private, err := jwk.IsPrivateKey(k)
	if err != nil || !private {
		return nil, nil, fmt.Errorf("%w: not a private key (kty %s)", ErrInvalidJWK, k.KeyType())
	}
	var priv, pub any
	if err := jwk.Export(k, &priv); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidJWK, err)
	}
	pk, err := k.PublicKey()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidJWK, err)
	}
	if err := jwk.Export(pk, &pub); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidJWK, err)
	}
	if err := keycheck.Private(priv, pub); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidJWK, err)
	}
	return k, priv, nil
}

// checkSigningAlg refuses an alg member that the key cannot sign with
// (RFC 8725 §3.1: a key is for one algorithm), so a bad file fails at load
// time rather than at the first token.
func checkSigningAlg(k *Key) error {
	ok := false
	switch p := k.Signer.(type) {
	case *rsa.PrivateKey:
		switch k.Alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			ok = true
		}
	case *ecdsa.PrivateKey:
		ok = k.Alg == esAlgFor(p.Curve.Params().Name)
	case ed25519.PrivateKey:
		ok = k.Alg == "EdDSA"
	}
	if !ok {
		return fmt.Errorf("%w: alg %q for kty %s (%w)", ErrInvalidJWK, k.Alg, publicJWK(k.Signer.Public())["kty"], ErrKeyMismatch)
	}
	return nil
}

func esAlgFor(crv string) string {
	switch crv {
	case "P-256":
		return "ES256"
	case "P-384":
		return "ES384"
	case "P-521":
		return "ES512"
	}
	return ""
}
