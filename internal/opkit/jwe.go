package opkit

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RSA-OAEP (RFC 7518 §4.3) is defined with SHA-1
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
)

// EncryptionKey is an RP's key for encrypted logout tokens (JWE, RFC 7516):
// the OP encrypts to its public half, the RP decrypts with Private.
type EncryptionKey struct {
	ID  string // kid
	Alg string // key management: RSA-OAEP-256 (default), RSA-OAEP or ECDH-ES
	Enc string // content encryption: A256GCM (default), A192GCM or A128GCM
	// Private is *rsa.PrivateKey for the RSA algorithms and
	// *ecdh.PrivateKey (P-256) for ECDH-ES.
	Private crypto.PrivateKey
}

// GenerateEncryptionKey returns an RSA 2048 key for RSA-OAEP-256 with
// A256GCM, the pair node oidc-provider and Keycloak use by default.
func GenerateEncryptionKey(kid string) (*EncryptionKey, error) {
	return GenerateEncryptionKeyAlg("RSA-OAEP-256", "A256GCM", kid)
}

// GenerateEncryptionKeyAlg returns a fresh key for the given key management
// alg (RSA-OAEP-256, RSA-OAEP, ECDH-ES on P-256) and content encryption enc
// (A128GCM, A192GCM, A256GCM).
func GenerateEncryptionKeyAlg(alg, enc, kid string) (*EncryptionKey, error) {
	if _, err := encKeySize(enc); err != nil {
		return nil, err
	}
	var (
		priv crypto.PrivateKey
		err  error
	)
	switch alg {
	case "RSA-OAEP-256", "RSA-OAEP":
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case "ECDH-ES":
		priv, err = ecdh.P256().GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w: key management %q", ErrUnsupportedAlg, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("fakeop: generate %s key: %w", alg, err)
	}
	return &EncryptionKey{ID: kid, Alg: alg, Enc: enc, Private: priv}, nil
}

// PublicJWK returns the public half, with kid, alg and use "enc": what the
// RP publishes in its jwks_uri for the OP to encrypt to.
func (k *EncryptionKey) PublicJWK() map[string]any {
	var m map[string]any
	switch p := k.Private.(type) {
	case *rsa.PrivateKey:
		m = publicJWK(&p.PublicKey)
	case *ecdh.PrivateKey:
		m = ecdhJWK(p.PublicKey())
	default:
		m = map[string]any{"kty": "unknown"}
	}
	m["use"] = "enc"
	m["alg"] = k.Alg
	if k.ID != "" {
		m["kid"] = k.ID
	}
	return m
}

// PrivateJWKS returns the JSON of a JWK set holding the private key: what
// the RP is configured with to decrypt.
// An RSA key read from a public JWK has no private half: its set holds the
// public key only.
func (k *EncryptionKey) PrivateJWKS() []byte {
	if p, ok := k.Private.(*rsa.PrivateKey); ok && p.D == nil {
		return JWKS(k.PublicJWK())
	}
	m, err := privateJWK(k.Private, k.ID, k.Alg, "enc")
	if err != nil {
		return JWKS(map[string]any{"kty": "unknown"})
	}
	return JWKS(m)
}

// Encrypt wraps a signed token into a nested JWT (JWE compact
// serialization, cty "JWT", kid of to), as an OP does for a client that
// registered ID Token encryption.
func Encrypt(jws string, to *EncryptionKey) (string, error) {
	if to == nil {
		return "", fmt.Errorf("%w: no encryption key", ErrKeyMismatch)
	}
	size, err := encKeySize(to.Enc)
	if err != nil {
		return "", err
	}
	header := map[string]any{"alg": to.Alg, "enc": to.Enc, "cty": "JWT"}
	if to.ID != "" {
		header["kid"] = to.ID
	}
	var cek, encryptedKey []byte
	switch p := to.Private.(type) {
	case *rsa.PrivateKey:
		var h hash.Hash
		switch to.Alg {
		case "RSA-OAEP-256":
			h = sha256.New()
		case "RSA-OAEP":
			h = sha1.New()
		default:
			return "", fmt.Errorf("%w: %s with an RSA key", ErrKeyMismatch, to.Alg)
		}
		cek = make([]byte, size)
		_, _ = rand.Read(cek)
		encryptedKey, err = rsa.EncryptOAEP(h, rand.Reader, &p.PublicKey, cek, nil)
		if err != nil {
			return "", fmt.Errorf("fakeop: encrypt key: %w", err)
		}
	case *ecdh.PrivateKey:
		if to.Alg != "ECDH-ES" {
			return "", fmt.Errorf("%w: %s with an EC key", ErrKeyMismatch, to.Alg)
		}
		eph, err := p.Curve().GenerateKey(rand.Reader)
		if err != nil {
			return "", fmt.Errorf("fakeop: ephemeral key: %w", err)
		}
		z, err := eph.ECDH(p.PublicKey())
		if err != nil {
			return "", fmt.Errorf("fakeop: ecdh: %w", err)
		}
		header["epk"] = ecdhJWK(eph.PublicKey())
		// Direct key agreement: the KDF's AlgorithmID is the enc value.
		cek = concatKDF(z, to.Enc, size)
	default:
		return "", fmt.Errorf("%w: encryption key of type %T", ErrKeyMismatch, to.Private)
	}

	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("%w: jwe header: %w", ErrEncode, err)
	}
	protected := b64(hb)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return "", fmt.Errorf("fakeop: aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("fakeop: gcm: %w", err)
	}
	iv := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(iv)
	// The AAD is the encoded protected header (RFC 7516 §5.1 step 14).
	sealed := gcm.Seal(nil, iv, []byte(jws), []byte(protected))
	ct, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	return protected + "." + b64(encryptedKey) + "." + b64(iv) + "." + b64(ct) + "." + b64(tag), nil
}

func encKeySize(enc string) (int, error) {
	switch enc {
	case "A128GCM":
		return 16, nil
	case "A192GCM":
		return 24, nil
	case "A256GCM":
		return 32, nil
	}
	return 0, fmt.Errorf("%w: content encryption %q", ErrUnsupportedAlg, enc)
}

func ecdhJWK(p *ecdh.PublicKey) map[string]any {
	pt := p.Bytes() // 0x04 || X || Y
	n := (len(pt) - 1) / 2
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64(pt[1 : 1+n]), "y": b64(pt[1+n:])}
}

// concatKDF is the single-step KDF of NIST SP 800-56A as profiled by
// RFC 7518 §4.6.2, with empty apu and apv.
func concatKDF(z []byte, algID string, size int) []byte {
	lenPrefixed := func(b []byte) []byte {
		return binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	}
	var other []byte
	other = append(other, lenPrefixed([]byte(algID))...)
	other = append(other, algID...)
	other = append(other, lenPrefixed(nil)...) // PartyUInfo
	other = append(other, lenPrefixed(nil)...) // PartyVInfo
	other = binary.BigEndian.AppendUint32(other, uint32(size*8))

	var out []byte
	for counter := uint32(1); len(out) < size; counter++ {
		h := sha256.New()
		_ = binary.Write(h, binary.BigEndian, counter)
		h.Write(z)
		h.Write(other)
		out = h.Sum(out)
	}
	return out[:size]
}
