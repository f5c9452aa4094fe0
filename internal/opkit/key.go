package opkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// ErrUnsupportedAlg means an algorithm name this package cannot generate a
// key for, sign or encrypt with.
var ErrUnsupportedAlg = errors.New("fakeop: unsupported algorithm")

// ErrKeyMismatch means a key cannot be used with the requested algorithm,
// e.g. an RS256 key asked to sign ES256.
var ErrKeyMismatch = errors.New("fakeop: key does not fit the algorithm")

// Key is a signing key of the fake OP.
type Key struct {
	ID     string // kid; empty leaves kid out of headers and JWKs
	Alg    string // JWS alg: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA
	Signer crypto.Signer
}

// rsaBits is the smallest size current OPs use; anything bigger only slows
// tests down.
const rsaBits = 2048

// GenerateKey returns a fresh key for alg: RSA 2048 for RS* and PS*, the
// matching NIST curve for ES*, Ed25519 for EdDSA.
func GenerateKey(alg, kid string) (*Key, error) {
	var (
		s   crypto.Signer
		err error
	)
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		s, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case "ES256":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		s, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		s, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("fakeop: generate %s key: %w", alg, err)
	}
	return &Key{ID: kid, Alg: alg, Signer: s}, nil
}

// PublicJWK returns the public half of k as a JWK (RFC 7517) with kty, kid,
// alg and use "sig".
func (k *Key) PublicJWK() map[string]any {
	m := k.PublicJWKWithoutAlg()
	m["alg"] = k.Alg
	return m
}

// PublicJWKWithoutAlg is PublicJWK without the alg member, as Microsoft Entra
// ID and others publish their keys: the verifier then has to take the
// algorithm from its own configuration, never from the token alone.
func (k *Key) PublicJWKWithoutAlg() map[string]any {
	m := publicJWK(k.Signer.Public())
	m["use"] = "sig"
	if k.ID != "" {
		m["kid"] = k.ID
	}
	return m
}

// publicJWK encodes the key material members of a public key; unknown key
// types give a JWK with only kty "unknown" so a test sees it plainly.
func publicJWK(pub crypto.PublicKey) map[string]any {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{
			"kty": "RSA",
			"n":   b64(p.N.Bytes()),
			"e":   b64(big.NewInt(int64(p.E)).Bytes()),
		}
	case *ecdsa.PublicKey:
		pt, err := p.Bytes()
		if err != nil {
			return map[string]any{"kty": "unknown"}
		}
		// Uncompressed point: 0x04 || X || Y, each coordinate fixed size.
		n := (len(pt) - 1) / 2
		return map[string]any{
			"kty": "EC",
			"crv": p.Curve.Params().Name,
			"x":   b64(pt[1 : 1+n]),
			"y":   b64(pt[1+n:]),
		}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(p)}
	}
	return map[string]any{"kty": "unknown"}
}

// JWKS returns the JSON of a JWK set holding keys, in order.
func JWKS(keys ...map[string]any) []byte {
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		// Only a test that put an unencodable value into a JWK gets here.
		return []byte(`{"keys":[]}`)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
