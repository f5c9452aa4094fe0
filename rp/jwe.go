package rp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v4/jwa"
	"github.com/lestrrat-go/jwx/v4/jwe"
	"github.com/lestrrat-go/jwx/v4/jwk"
)

// maxDecryptAttempts bounds the keys tried on a kid-less JWE.
const maxDecryptAttempts = 4

// keyManagementAllowed reports whether a JWE key management algorithm is
// accepted. Only asymmetric algorithms (the RP's registered encryption
// keys) are: no dir or key wrap with shared keys, no PBES2 (its iteration
// count is attacker-chosen work), and no RSA1_5 (RFC 8725 §3.2: padding
// oracles).
func keyManagementAllowed(alg string) bool {
	switch alg {
	case "RSA-OAEP", "RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512",
		"ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW":
		return true
	}
	return false
}

// decrypt opens a compact JWE logout token with the RP's keys and returns
// the nested compact JWS.
func decrypt(raw string, set jwk.Set) (string, error) {
	if len(raw) > maxTokenBytes {
		return "", fmt.Errorf("%w: token larger than %d bytes", ErrMalformed, maxTokenBytes)
	}
	seg, _, _ := strings.Cut(raw, ".")
	var h joseHeader
	if err := decodeHeader(seg, &h); err != nil {
		return "", err
	}
	if set == nil || set.Len() == 0 {
		return "", fmt.Errorf("%w: encrypted token but no decryption keys configured", ErrEncryption)
	}
	switch {
	case h.Jku != nil || h.X5u != nil || h.JWK != nil || h.X5c != nil:
		return "", fmt.Errorf("%w: in JWE header", ErrForbiddenHeader)
	case h.Crit != nil:
		return "", fmt.Errorf("%w: crit %s in JWE header", ErrCritical, clip(string(h.Crit)))
	case h.Zip != nil:
		return "", fmt.Errorf("%w: compressed JWE not accepted", ErrEncryption)
	case !keyManagementAllowed(h.Alg):
		return "", fmt.Errorf("%w: key management algorithm %q not allowed", ErrEncryption, clip(h.Alg))
	case h.Cty != "" && !strings.EqualFold(h.Cty, "JWT"):
		return "", fmt.Errorf("%w: JWE content type %q is not JWT", ErrMalformed, clip(h.Cty))
	}
	alg, ok := jwa.LookupKeyEncryptionAlgorithm(h.Alg)
	if !ok {
		return "", fmt.Errorf("%w: key management algorithm %q not supported", ErrEncryption, clip(h.Alg))
	}
	ecdh := strings.HasPrefix(h.Alg, "ECDH-ES")
	attempts := 0
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok || !decryptionKeyFits(k, h, ecdh) {
			continue
		}
		key, err := jwk.Export[any](k)
		if err != nil {
			continue
		}
		if attempts++; attempts > maxDecryptAttempts {
			break
		}
		plain, err := jwe.Decrypt([]byte(raw), jwe.WithKey(alg, key))
		if err != nil {
			continue
		}
		inner := string(plain)
		if segments(inner) != 2 {
			return "", fmt.Errorf("%w: encrypted content is not a signed JWT", ErrMalformed)
		}
		return inner, nil
	}
	return "", fmt.Errorf("%w: no configured key decrypts the token (kid %q, alg %s)", ErrEncryption, clip(h.Kid), h.Alg)
}

// decryptionKeyFits selects decryption keys like signature keys: by kid
// when the JWE names one, bound to the JWK's alg when it has one, use
// absent or "enc", and a private key of the right type.
func decryptionKeyFits(k jwk.Key, h joseHeader, ecdh bool) bool {
	if pk, ok := k.(interface{ IsPrivate() bool }); !ok || !pk.IsPrivate() {
		return false
	}
	if use, ok := k.KeyUsage(); ok && use != "enc" {
		return false
	}
	if ops, ok := k.KeyOps(); ok && !slices.Contains(ops, jwk.KeyOpUnwrapKey) && !slices.Contains(ops, jwk.KeyOpDecrypt) && !slices.Contains(ops, jwk.KeyOpDeriveKey) {
		return false
	}
	if h.Kid != "" {
		if kid, ok := k.KeyID(); !ok || kid != h.Kid {
			return false
		}
	}
	if a, ok := k.Algorithm(); ok && a.String() != h.Alg {
		return false
	}
	switch k.KeyType().String() {
	case "RSA":
		return !ecdh
	case "EC", "OKP":
		return ecdh
	}
	return false
}
