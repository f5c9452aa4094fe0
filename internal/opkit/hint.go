package opkit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// errHint means an id_token_hint the OP did not issue, or cannot read. It
// never leaves the package: end_session answers it with a 400 page and
// logs the detail.
var errHint = errors.New("fakeop: invalid id_token_hint")

// idTokenHint is what end_session takes from a verified id_token_hint
// (RP-Initiated Logout 1.0 §2).
type idTokenHint struct {
	aud []string // the clients the ID token was issued to
	sub string
	sid string // the OP session it was issued in
}

// verifyHint checks that raw is an ID token this OP signed, with its
// current key or any key it has rotated out (retired ones included: a
// hint may be older than the JWKS grace period), and for this issuer. An
// expired hint is fine: RP-Initiated Logout 1.0 §2 expects RPs to send
// the ID token of a login that may have ended long ago.
//
// The algorithm must be that of the key the kid names, so neither "none"
// nor an HMAC keyed with a public key passes.
func (op *OP) verifyHint(raw string) (idTokenHint, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return idTokenHint{}, fmt.Errorf("%w: %d parts, want a 3-part JWS", errHint, len(parts))
	}
	var h struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := decodeSegment(parts[0], &h); err != nil {
		return idTokenHint{}, fmt.Errorf("%w: header: %w", errHint, err)
	}
	if h.Crit != nil {
		return idTokenHint{}, fmt.Errorf("%w: crit header", errHint)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return idTokenHint{}, fmt.Errorf("%w: signature encoding: %w", errHint, err)
	}
	input := []byte(parts[0] + "." + parts[1])
	op.mu.Lock()
	keys := append([]*Key{op.key}, op.retired...)
	op.mu.Unlock()
	verified := false
	for _, k := range keys {
		if k.Alg == h.Alg && k.ID == h.Kid && verifySignature(k, input, sig) {
			verified = true
			break
		}
	}
	if !verified {
		return idTokenHint{}, fmt.Errorf("%w: no key of this OP verifies it (alg %q, kid %q)", errHint, h.Alg, h.Kid)
	}

	var c struct {
		Iss    string          `json:"iss"`
		Aud    json.RawMessage `json:"aud"`
		Sub    string          `json:"sub"`
		Sid    string          `json:"sid"`
		Events json.RawMessage `json:"events"`
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return idTokenHint{}, fmt.Errorf("%w: claims: %w", errHint, err)
	}
	var aud []string
	if err := json.Unmarshal(c.Aud, &aud); err != nil {
		var one string
		if json.Unmarshal(c.Aud, &one) != nil || one == "" {
			return idTokenHint{}, fmt.Errorf("%w: aud is neither a string nor an array of strings", errHint)
		}
		aud = []string{one}
	}
	switch {
	case c.Iss != op.issuer:
		return idTokenHint{}, fmt.Errorf("%w: iss %q, want %q", errHint, c.Iss, op.issuer)
	case c.Events != nil:
		// The OP signs its logout tokens with the same key.
		return idTokenHint{}, fmt.Errorf("%w: a logout token, not an ID token", errHint)
	case len(aud) == 0:
		return idTokenHint{}, fmt.Errorf("%w: no aud", errHint)
	}
	return idTokenHint{aud: aud, sub: c.Sub, sid: c.Sid}, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// verifySignature checks a JWS signature made by k with k.Alg; it is the
// inverse of signBytes.
func verifySignature(k *Key, input, sig []byte) bool {
	h, _ := hashFor(k.Alg)
	switch pub := k.Signer.Public().(type) {
	case *rsa.PublicKey:
		d := digest(h, input)
		if k.Alg[0] == 'P' {
			return rsa.VerifyPSS(pub, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, h, d, sig) == nil
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest(h, input), r, s)
	case ed25519.PublicKey:
		return ed25519.Verify(pub, input, sig)
	}
	return false
}
