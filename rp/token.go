package rp

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// maxTokenBytes bounds the token before any decoding work; the handler's
// body cap is the outer bound, this one protects direct Verify callers.
const maxTokenBytes = 64 << 10

// joseHeader holds the protected header members this package decides on.
// Presence-only members are raw so that any value, even null, counts.
type joseHeader struct {
	Alg  string         `json:"alg"`
	Enc  string         `json:"enc"`
	Kid  string         `json:"kid"`
	Typ  *string        `json:"typ"`
	Cty  string         `json:"cty"`
	Crit jsontext.Value `json:"crit"`
	B64  jsontext.Value `json:"b64"`
	Zip  jsontext.Value `json:"zip"`
	Jku  jsontext.Value `json:"jku"`
	X5u  jsontext.Value `json:"x5u"`
	JWK  jsontext.Value `json:"jwk"`
	X5c  jsontext.Value `json:"x5c"`
}

// token is a compact JWS split and decoded, not yet verified.
type token struct {
	compact   string
	header    joseHeader
	claims    map[string]any
	encrypted bool
}

// segments counts the dots of a compact serialization: 2 for JWS, 4 for JWE.
func segments(raw string) int { return strings.Count(raw, ".") }

// decodeHeader decodes one base64url protected header into h.
func decodeHeader(seg string, h *joseHeader) error {
	if seg == "" {
		return fmt.Errorf("%w: empty header", ErrMalformed)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	if err := decodeObject(b, h); err != nil {
		return fmt.Errorf("%w: header is not a strict JSON object: %s", ErrMalformed, jsonDetail(err))
	}
	return nil
}

// parseJWS splits a compact JWS and decodes its header and payload, so that
// everything cheap can be rejected before a key is fetched or a signature
// checked. The signature segment is only checked for being base64url; an
// empty one (an unsigned token) fails later, on its alg or its signature.
func parseJWS(raw string, t *token) error {
	if len(raw) > maxTokenBytes {
		return fmt.Errorf("%w: token larger than %d bytes", ErrMalformed, maxTokenBytes)
	}
	h, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	if p == "" {
		return fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if err := decodeHeader(h, &t.header); err != nil {
		return err
	}
	if err := checkHeaderShape(&t.header); err != nil {
		return err
	}
	if !isBase64URL(sig) {
		return fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(p)
	if err != nil {
		return fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	if err := decodeObject(payload, &t.claims); err != nil {
		return fmt.Errorf("%w: payload is not a strict JSON object: %s", ErrMalformed, jsonDetail(err))
	}
	t.compact = raw
	return nil
}

// isBase64URL reports whether s uses only the unpadded base64url alphabet
// with a length a decoder accepts; the signature itself is decoded by jwx.
func isBase64URL(s string) bool {
	if len(s)%4 == 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// clip bounds an attacker-controlled value before it reaches an error
// message and so the logs.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
