package fakeop

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// ErrInvalidJWK means data is not a private JWK (RFC 7517 §4, RFC 7518 §6)
// this package can use: not a JWK or JWK set, a member that is missing,
// mistyped or not strict base64url, or key material that is inconsistent
// (an RSA key failing validation, an EC d that does not give x and y, an
// Ed25519 seed that does not give x).
var ErrInvalidJWK = errors.New("fakeop: invalid jwk")

// RSA limits: RFC 7518 §3.3 requires 2048 bits for RS*/PS*, and the upper
// bound keeps a hostile file from making validation arbitrarily slow.
const (
	minRSABits = 2048
	maxRSABits = 16384
)

// PrivateJWK returns k as a private JWK (RFC 7518 §6): kty, kid (when set),
// alg, use "sig" and the private members. EC coordinates and d have the
// curve's fixed length (RFC 7518 §6.2.1.2, §6.2.2.1). ParsePrivateJWK reads
// it back. An unknown key type gives kty "unknown", as PublicJWK does.
func (k *Key) PrivateJWK() map[string]any {
	m := k.PublicJWK()
	if k.Alg == "" {
		delete(m, "alg")
	}
	switch p := k.Signer.(type) {
	case *rsa.PrivateKey:
		addRSAPrivate(m, p)
	case *ecdsa.PrivateKey:
		d, err := p.Bytes()
		if err != nil {
			return map[string]any{"kty": "unknown"}
		}
		m["d"] = b64(d)
	case ed25519.PrivateKey:
		m["d"] = b64(p.Seed())
	default:
		return map[string]any{"kty": "unknown"}
	}
	return m
}

// addRSAPrivate adds d and the two-prime CRT members; a key without both
// primes (a public key wrapped to encrypt to) has nothing private to add.
func addRSAPrivate(m map[string]any, p *rsa.PrivateKey) {
	if p.D == nil || len(p.Primes) != 2 {
		return
	}
	p.Precompute()
	m["d"] = b64(p.D.Bytes())
	m["p"] = b64(p.Primes[0].Bytes())
	m["q"] = b64(p.Primes[1].Bytes())
	if p.Precomputed.Dp != nil {
		m["dp"] = b64(p.Precomputed.Dp.Bytes())
		m["dq"] = b64(p.Precomputed.Dq.Bytes())
		m["qi"] = b64(p.Precomputed.Qinv.Bytes())
	}
}

// ParsePrivateJWK reads a private signing key: a JWK, or the first key of a
// JWK set. Files written by PrivateJWK and by JOSE libraries using the
// standard member names load alike. Key material is checked, not trusted:
// an RSA key must pass rsa.PrivateKey.Validate, an EC d must yield the
// point (x, y), an Ed25519 seed must yield x. Without alg the key type's
// usual one is assumed (RSA RS256, P-256 ES256, P-384 ES384, P-521 ES512,
// Ed25519 EdDSA); an alg that does not fit the key, or a use other than
// "sig", is refused.
func ParsePrivateJWK(data []byte) (*Key, error) {
	j, err := parseFirstJWK(data)
	if err != nil {
		return nil, err
	}
	if !j.has("kty") {
		return nil, fmt.Errorf("%w: missing \"kty\"", ErrInvalidJWK)
	}
	if err := j.wantUse("sig"); err != nil {
		return nil, err
	}
	kid, alg := j.str("kid"), j.str("alg")
	if j.err != nil {
		return nil, j.err
	}
	var k *Key
	switch kty := j.str("kty"); kty {
	case "RSA":
		p, err := j.rsaKey(true)
		if err != nil {
			return nil, err
		}
		k = &Key{ID: kid, Alg: alg, Signer: p}
		if alg == "" {
			k.Alg = "RS256"
		}
	case "EC":
		p, err := j.ecdsaKey()
		if err != nil {
			return nil, err
		}
		k = &Key{ID: kid, Alg: alg, Signer: p}
		if alg == "" {
			k.Alg = esAlgFor(p.Curve.Params().Name)
		}
	case "OKP":
		p, err := j.ed25519Key()
		if err != nil {
			return nil, err
		}
		k = &Key{ID: kid, Alg: alg, Signer: p}
		if alg == "" {
			k.Alg = "EdDSA"
		}
	default:
		if j.err != nil {
			return nil, j.err
		}
		return nil, fmt.Errorf("%w: kty %q is not RSA, EC or OKP", ErrInvalidJWK, kty)
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
	j, err := parseFirstJWK(data)
	if err != nil {
		return nil, err
	}
	if !j.has("kty") {
		return nil, fmt.Errorf("%w: missing \"kty\"", ErrInvalidJWK)
	}
	if err := j.wantUse("enc"); err != nil {
		return nil, err
	}
	ek := &EncryptionKey{ID: j.str("kid"), Alg: j.str("alg"), Enc: "A256GCM"}
	if j.err != nil {
		return nil, j.err
	}
	switch kty := j.str("kty"); kty {
	case "RSA":
		p, err := j.rsaKey(j.has("d"))
		if err != nil {
			return nil, err
		}
		ek.Private = p
		switch ek.Alg {
		case "":
			ek.Alg = "RSA-OAEP-256"
		case "RSA-OAEP-256", "RSA-OAEP":
		default:
			return nil, fmt.Errorf("%w: alg %q with an RSA encryption key", ErrInvalidJWK, ek.Alg)
		}
	case "EC":
		if crv := j.str("crv"); crv != "P-256" && j.err == nil {
			return nil, fmt.Errorf("%w: encryption key on curve %q, want P-256", ErrInvalidJWK, crv)
		}
		if !j.has("d") {
			return nil, fmt.Errorf("%w: an EC encryption key must be private (d)", ErrInvalidJWK)
		}
		p, err := j.ecdsaKey()
		if err != nil {
			return nil, err
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
		if j.err != nil {
			return nil, j.err
		}
		return nil, fmt.Errorf("%w: kty %q is not RSA or EC", ErrInvalidJWK, kty)
	}
	return ek, nil
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

// rawJWK is one JWK's members, undecoded, so that presence and JSON type
// can be checked member by member. The first problem met sticks in err.
type rawJWK struct {
	members map[string]json.RawMessage
	err     error
}

// parseFirstJWK accepts a JSON object that is either a JWK or a JWK set
// ({"keys": [...]}, RFC 7517 §5), and returns the JWK or the set's first.
func parseFirstJWK(data []byte) (*rawJWK, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidJWK)
	}
	keys, ok := top["keys"]
	if !ok {
		return &rawJWK{members: top}, nil
	}
	var set []json.RawMessage
	if err := json.Unmarshal(keys, &set); err != nil || set == nil {
		return nil, fmt.Errorf("%w: \"keys\" is not an array", ErrInvalidJWK)
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%w: empty jwk set", ErrInvalidJWK)
	}
	var first map[string]json.RawMessage
	if err := json.Unmarshal(set[0], &first); err != nil || first == nil {
		return nil, fmt.Errorf("%w: first key is not a JSON object", ErrInvalidJWK)
	}
	return &rawJWK{members: first}, nil
}

func (j *rawJWK) has(name string) bool {
	_, ok := j.members[name]
	return ok
}

// str returns a string member, "" when absent; a member that is not a
// string records an error.
func (j *rawJWK) str(name string) string {
	raw, ok := j.members[name]
	if !ok || j.err != nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		j.err = fmt.Errorf("%w: %q is not a string", ErrInvalidJWK, name)
		return ""
	}
	return s
}

func (j *rawJWK) wantUse(want string) error {
	if use := j.str("use"); j.err == nil && j.has("use") && use != want {
		return fmt.Errorf("%w: use %q, want %q", ErrInvalidJWK, use, want)
	}
	return j.err
}

// bytes decodes a required base64url member strictly: no padding, no
// whitespace, no non-zero trailing bits (RFC 7515 §2, Base64url Encoding).
func (j *rawJWK) bytes(name string) []byte {
	if j.err != nil {
		return nil
	}
	if !j.has(name) {
		j.err = fmt.Errorf("%w: missing %q", ErrInvalidJWK, name)
		return nil
	}
	s := j.str(name)
	if j.err != nil {
		return nil
	}
	b, err := decodeB64URL(s)
	if err != nil {
		j.err = fmt.Errorf("%w: %q: %w", ErrInvalidJWK, name, err)
		return nil
	}
	return b
}

// uint decodes a required Base64urlUInt member (RFC 7518 §2): the minimum
// number of octets, so no leading zero and never empty.
func (j *rawJWK) uint(name string) *big.Int {
	b := j.bytes(name)
	if j.err != nil {
		return nil
	}
	if b[0] == 0 {
		j.err = fmt.Errorf("%w: %q has a leading zero octet", ErrInvalidJWK, name)
		return nil
	}
	return new(big.Int).SetBytes(b)
}

func decodeB64URL(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	// The decoder skips \r and \n; a JWK member must not contain them.
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("byte %q is not base64url without padding", c)
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// rsaKey decodes an RSA key (RFC 7518 §6.3). With private, d, p and q are
// required (Go cannot use a d-only key) and dp, dq, qi, when present, must
// be the values p, q and d give; without it the private members must be
// absent and the result wraps the public key, as EncryptionKey expects.
func (j *rawJWK) rsaKey(private bool) (*rsa.PrivateKey, error) {
	n, eb := j.uint("n"), j.uint("e")
	if j.err != nil {
		return nil, j.err
	}
	if n.BitLen() < minRSABits || n.BitLen() > maxRSABits {
		return nil, fmt.Errorf("%w: %d-bit RSA key, want %d to %d", ErrInvalidJWK, n.BitLen(), minRSABits, maxRSABits)
	}
	if eb.BitLen() > 31 || eb.Bit(0) == 0 || eb.Int64() < 3 {
		return nil, fmt.Errorf("%w: RSA exponent %s", ErrInvalidJWK, eb)
	}
	if j.has("oth") {
		return nil, fmt.Errorf("%w: multi-prime RSA keys (oth) are not supported", ErrInvalidJWK)
	}
	p := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(eb.Int64())}}
	if !private {
		for _, name := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if j.has(name) {
				return nil, fmt.Errorf("%w: private member %q in a public RSA key", ErrInvalidJWK, name)
			}
		}
		return p, nil
	}
	p.D = j.uint("d")
	p.Primes = []*big.Int{j.uint("p"), j.uint("q")}
	crt := 0
	for _, name := range []string{"dp", "dq", "qi"} {
		if j.has(name) {
			crt++
		}
	}
	switch crt {
	case 3:
		p.Precomputed.Dp, p.Precomputed.Dq, p.Precomputed.Qinv = j.uint("dp"), j.uint("dq"), j.uint("qi")
	case 0:
	default:
		// RFC 7518 §6.3.2: with any of the other private members, all of
		// them MUST be present.
		return nil, fmt.Errorf("%w: dp, dq and qi must come together", ErrInvalidJWK)
	}
	if j.err != nil {
		return nil, j.err
	}
	// Validate checks given CRT values against the key instead of trusting
	// them; Precompute then fills what was absent.
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJWK, err)
	}
	p.Precompute()
	return p, nil
}

// ecdsaKey decodes a private EC key (RFC 7518 §6.2) on P-256, P-384 or
// P-521 with fixed-length x, y and d, and checks that the point is on the
// curve and is d's public key.
func (j *rawJWK) ecdsaKey() (*ecdsa.PrivateKey, error) {
	var curve elliptic.Curve
	switch crv := j.str("crv"); crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		if j.err != nil {
			return nil, j.err
		}
		return nil, fmt.Errorf("%w: EC curve %q", ErrInvalidJWK, crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, y, d := j.bytes("x"), j.bytes("y"), j.bytes("d")
	if j.err != nil {
		return nil, j.err
	}
	for name, b := range map[string][]byte{"x": x, "y": y, "d": d} {
		if len(b) != size {
			return nil, fmt.Errorf("%w: %q is %d octets, want %d for %s", ErrInvalidJWK, name, len(b), size, curve.Params().Name)
		}
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("%w: (x, y): %w", ErrInvalidJWK, err)
	}
	priv, err := ecdsa.ParseRawPrivateKey(curve, d)
	if err != nil {
		return nil, fmt.Errorf("%w: d: %w", ErrInvalidJWK, err)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("%w: d does not match x and y", ErrInvalidJWK)
	}
	return priv, nil
}

// ed25519Key decodes a private Ed25519 key (RFC 8037 §2): d is the 32-byte
// seed and must give the public key x.
func (j *rawJWK) ed25519Key() (ed25519.PrivateKey, error) {
	if crv := j.str("crv"); crv != "Ed25519" {
		if j.err != nil {
			return nil, j.err
		}
		return nil, fmt.Errorf("%w: OKP curve %q, want Ed25519", ErrInvalidJWK, crv)
	}
	x, d := j.bytes("x"), j.bytes("d")
	if j.err != nil {
		return nil, j.err
	}
	if len(d) != ed25519.SeedSize || len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 d is %d octets and x %d, want %d and %d", ErrInvalidJWK, len(d), len(x), ed25519.SeedSize, ed25519.PublicKeySize)
	}
	priv := ed25519.NewKeyFromSeed(d)
	if subtle.ConstantTimeCompare(priv.Public().(ed25519.PublicKey), x) != 1 {
		return nil, fmt.Errorf("%w: d does not match x", ErrInvalidJWK)
	}
	return priv, nil
}
