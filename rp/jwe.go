package rp

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/bclogout/bclogout/jwks"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
)

// maxDecryptAttempts bounds the keys tried on a kid-less JWE.
const maxDecryptAttempts = 4

// decryptHook, when set, is called before every private-key operation;
// tests count them.
var decryptHook atomic.Pointer[func()]

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

// decryptionKey is one of the RP's decryption keys with the OPs
// (tenants) that hold it: several may share a key, and it is tried once.
type decryptionKey struct {
	key     jwks.Key
	private crypto.PrivateKey
	owners  []*tenant
}

// decryptionKeys lists the distinct keys of sets, in order; keys with equal
// public halves count as one. owner[i] holds sets[i].
func decryptionKeys(sets []*jwks.PrivateSet, owner []*tenant) []decryptionKey {
	var out []decryptionKey
	for i, set := range sets {
	keys:
		for k, priv := range set.All() {
			for n := range out {
				if sameKey(out[n].key, k) {
					out[n].owners = append(out[n].owners, owner[i])
					continue keys
				}
			}
			out = append(out, decryptionKey{key: k, private: priv, owners: []*tenant{owner[i]}})
		}
	}
	return out
}

// hasKeys reports whether set holds a key; a nil set holds none.
func hasKeys(set *jwks.PrivateSet) bool {
	for range set.All() {
		return true
	}
	return false
}

func sameKey(a, b jwks.Key) bool {
	pa, ok := a.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pa.Equal(b.Public()) && a.KeyID() == b.KeyID() && a.Algorithm() == b.Algorithm()
}

// decrypt opens a compact JWE logout token with one of keys and returns the
// nested compact JWS and the key that opened it. At most
// maxDecryptAttempts keys are tried for the whole token, however many
// tenants hold keys: a private-key operation is the costly part, and a
// kid-less garbage JWE must not cost one per configured key.
func decrypt(raw string, keys []decryptionKey) (string, *decryptionKey, error) {
	if len(raw) > maxTokenBytes {
		return "", nil, fmt.Errorf("%w: token larger than %d bytes", ErrMalformed, maxTokenBytes)
	}
	seg, _, _ := strings.Cut(raw, ".")
	var h joseHeader
	if err := decodeHeader(seg, &h); err != nil {
		return "", nil, err
	}
	if len(keys) == 0 {
		return "", nil, fmt.Errorf("%w: encrypted token but no decryption keys configured", ErrEncryption)
	}
	switch {
	case h.Jku != nil || h.X5u != nil || h.JWK != nil || h.X5c != nil:
		return "", nil, fmt.Errorf("%w: forbidden header in JWE header", ErrSignature)
	case h.Crit != nil:
		return "", nil, fmt.Errorf("%w: critical header crit %s in JWE header not understood", ErrSignature, clip(string(h.Crit)))
	case h.Zip != nil:
		return "", nil, fmt.Errorf("%w: compressed JWE not accepted", ErrEncryption)
	case !keyManagementAllowed(h.Alg):
		return "", nil, fmt.Errorf("%w: key management algorithm %q not allowed", ErrEncryption, clip(h.Alg))
	case h.Cty != "" && !strings.EqualFold(h.Cty, "JWT"):
		return "", nil, fmt.Errorf("%w: JWE content type %q is not JWT", ErrMalformed, clip(h.Cty))
	}
	alg, ok := jwa.LookupKeyEncryptionAlgorithm(h.Alg)
	if !ok {
		return "", nil, fmt.Errorf("%w: key management algorithm %q not supported", ErrEncryption, clip(h.Alg))
	}
	ecdh := strings.HasPrefix(h.Alg, "ECDH-ES")
	// With several tenants whose keys share a kid (or a JWE without one),
	// the bound could leave a tenant's key untried; a header iss naming a
	// tenant that holds fitting keys narrows the search to them. The hint
	// is not trusted: the issuer must still own the key that opens the
	// token, and the signed claims decide everything else.
	hinted := hintedIssuer(h.Iss)
	narrow := hinted != "" && slices.ContainsFunc(keys, func(k decryptionKey) bool {
		return ownedBy(k, hinted) && decryptionKeyFits(k.key, h, ecdh)
	})
	attempts := 0
	for i := range keys {
		k := &keys[i]
		if !decryptionKeyFits(k.key, h, ecdh) || (narrow && !ownedBy(*k, hinted)) {
			continue
		}
		if attempts++; attempts > maxDecryptAttempts {
			break
		}
		if h := decryptHook.Load(); h != nil {
			(*h)()
		}
		plain, err := jwe.Decrypt([]byte(raw), jwe.WithKey(alg, k.private))
		if err != nil {
			continue
		}
		inner := string(plain)
		if segments(inner) != 2 {
			return "", nil, fmt.Errorf("%w: encrypted content is not a signed JWT", ErrMalformed)
		}
		return inner, k, nil
	}
	return "", nil, fmt.Errorf("%w: no configured key decrypts the token (kid %q, alg %s)", ErrEncryption, clip(h.Kid), h.Alg)
}

// hintedIssuer is the string value of a JWE header's iss, or "".
func hintedIssuer(v jsontext.Value) string {
	var iss string
	if len(v) == 0 || json.Unmarshal(v, &iss) != nil {
		return ""
	}
	return iss
}

func ownedBy(k decryptionKey, issuer string) bool {
	return slices.ContainsFunc(k.owners, func(t *tenant) bool { return t.issuer == issuer })
}

// decryptionKeyFits selects decryption keys like signature keys: by kid
// when the JWE names one, bound to the JWK's alg when it has one, and a key
// of the right type. jwks.ParsePrivateSet made sure each is a consistent
// private key whose use and key_ops allow decryption.
func decryptionKeyFits(k jwks.Key, h joseHeader, ecdhAlg bool) bool {
	if h.Kid != "" && k.KeyID() != h.Kid {
		return false
	}
	if a := k.Algorithm(); a != "" && a != h.Alg {
		return false
	}
	switch k.Public().(type) {
	case *rsa.PublicKey:
		return !ecdhAlg
	case *ecdsa.PublicKey, *ecdh.PublicKey:
		return ecdhAlg
	}
	return false
}
