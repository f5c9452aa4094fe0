package rp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

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
	// Iss is a JWE header's copy of the issuer (RFC 7519 §5.3; node
	// oidc-provider sends one): an untrusted hint that only picks whose
	// decryption keys are tried first.
	Iss jsontext.Value `json:"iss"`
}

// b64url decodes every segment: unpadded base64url with canonical trailing
// bits (RFC 7515 §2), built once because Strict copies the encoding.
var b64url = base64.RawURLEncoding.Strict()

// token is a compact JWS split and decoded, not yet verified.
type token struct {
	// signingInput is header.payload, what the signature covers.
	signingInput []byte
	// sig is the decoded signature; empty for an unsigned token.
	sig       []byte
	header    joseHeader
	claims    claims
	encrypted bool
	// buf backs signingInput, sig and the decoded payload; a pooled token
	// (Verify's) keeps it for the next token.
	buf []byte
	// dec reads the payload from in (readClaims); a pooled token keeps
	// it, with the stacks it has grown, for the next token.
	dec *jsontext.Decoder
	in  bytes.Buffer
}

// maxPooledBuf bounds the buffer a pooled token keeps: a few times a
// typical logout token, so that one large token does not pin its buffer.
const maxPooledBuf = 16 << 10

// tokenPool holds the tokens Verify decodes into. A token and its buffer
// (some kilobytes, zeroed when allocated) are garbage as soon as Verify
// returns, since the event it returns holds copies of the claims it
// keeps, so each request would otherwise allocate both anew.
var tokenPool = sync.Pool{New: func() any { return new(token) }}

// getToken returns an empty token from the pool.
func getToken() *token { return tokenPool.Get().(*token) }

// putToken empties t, keeping its buffer if small enough, and returns it
// to the pool; nothing may use t afterwards.
func putToken(t *token) {
	buf, dec := t.buf, t.dec
	if cap(buf) > maxPooledBuf {
		// dec still reads from buf's bytes: both go.
		buf, dec = nil, nil
	}
	*t = token{buf: buf[:0], dec: dec}
	tokenPool.Put(t)
}

// segments counts the dots of a compact serialization: 2 for JWS, 4 for JWE.
func segments(raw string) int { return strings.Count(raw, ".") }

// decodeHeader decodes one base64url protected header into h.
func decodeHeader(seg string, h *joseHeader) error {
	if seg == "" {
		return fmt.Errorf("%w: empty header", ErrMalformed)
	}
	b, err := b64url.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	return decodeHeaderJSON(b, h)
}

// decodeHeaderJSON decodes a protected header's JSON into h.
func decodeHeaderJSON(b []byte, h *joseHeader) error {
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
// checked. The signature is decoded here, once, for the verification; an
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
	if h == "" {
		return fmt.Errorf("%w: empty header", ErrMalformed)
	}
	if p == "" {
		return fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	cached := lastHeader.Load()
	if cached != nil && cached.seg == h {
		t.header = cached.header
	} else if err := decodeHeader(h, &t.header); err != nil {
		return err
	}
	if err := checkHeaderShape(&t.header); err != nil {
		return err
	}
	if cached == nil || cached.seg != h {
		// A copy: h shares raw's bytes, which may be a whole request
		// body (the handler's token shares it), kept alive by the
		// entry until another header comes.
		lastHeader.Store(&headerCacheEntry{seg: strings.Clone(h), header: t.header})
	}
	// One buffer holds the signing input as bytes (what the signature
	// check hashes) and the decoded signature and payload.
	input := raw[:len(h)+1+len(p)]
	need := len(input) + b64url.DecodedLen(len(p)) + b64url.DecodedLen(len(sig))
	buf := t.buf[:0]
	if cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	t.buf = buf
	buf = append(buf, input...)
	var payload, signature []byte
	var err error
	if buf, signature, err = appendDecoded(buf, sig); err != nil {
		return fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	if _, payload, err = appendDecoded(buf, p); err != nil {
		return fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	if err = t.readClaims(payload); err != nil {
		return fmt.Errorf("%w: payload is not a strict JSON object: %s", ErrMalformed, jsonDetail(err))
	}
	t.signingInput = buf[:len(input):len(input)]
	t.sig = signature
	return nil
}

// readClaims decodes the payload object into t.claims by tokenJSON, as
// decodeObject would, with the token's own decoder reading payload in
// place: json.Unmarshal would take a pooled decoder, find claims'
// UnmarshalJSONFrom by reflection and call it, on every token.
func (t *token) readClaims(payload []byte) error {
	t.in = *bytes.NewBuffer(payload)
	if t.dec == nil {
		t.dec = jsontext.NewDecoder(&t.in, tokenJSON)
	} else {
		t.dec.Reset(&t.in, tokenJSON)
	}
	if err := t.claims.UnmarshalJSONFrom(t.dec); err != nil {
		return err
	}
	// Only whitespace may follow the object, as json.Unmarshal requires.
	switch _, err := t.dec.ReadToken(); err {
	case io.EOF:
		return nil
	case nil:
		return errors.New("data after the object")
	default:
		return err
	}
}

// headerCacheEntry is a protected header segment and its decoding.
type headerCacheEntry struct {
	seg    string
	header joseHeader
}

// lastHeader remembers the last JWS header segment decoded that passed
// checkHeaderShape (which still runs on every token). An OP signs
// every logout token with the same header bytes (alg, kid, typ), so the
// next token's header is nearly always the same string, and decoding it is
// a pure function of those bytes: a hit skips a base64 and a JSON decoding
// (about a twentieth of an RS256 verification). The decoded header is
// never modified, so entries are shared freely; one entry, replaced on a
// miss, bounds the memory whatever the tokens.
var lastHeader atomic.Pointer[headerCacheEntry]

// appendDecoded decodes the base64url segment seg onto buf and returns buf
// and the decoded bytes; buf has the room, so nothing is reallocated.
func appendDecoded(buf []byte, seg string) (out, decoded []byte, err error) {
	start := len(buf)
	out, err = b64url.AppendDecode(buf, []byte(seg))
	return out, out[start:len(out):len(out)], err
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
