package rp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/strictjson"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

// The classes of a SET's claim failures.
var (
	errSETTime   = ErrTime
	errSETClaims = ErrClaims
)

// SecurityEvent is a validated Security Event Token (RFC 8417) that holds
// exactly one event, as the OpenID Shared Signals Framework 1.0 requires:
// a CAEP or RISC event pushed to the receiver (RFC 8935).
type SecurityEvent struct {
	// JTI is the SET's jti, the replay key together with its iss.
	JTI string
	// IssuedAt is the SET's iat.
	IssuedAt time.Time
	// Type is the event type: the one member name of the events claim,
	// e.g. https://schemas.openid.net/secevent/caep/event-type/session-revoked.
	Type string
	// Event is that member's value, decoded from JSON (numbers are
	// float64).
	Event map[string]any
	// Subject is the subject identifier (RFC 9493) the event is about:
	// the sub_id claim (SSF 1.0), or else the event's subject member (the
	// form older CAEP and RISC transmitters, Google's among them, send);
	// nil when the SET has neither.
	Subject map[string]any

	// issuer is the SET's iss, the transmitter's; until is the last
	// moment the SET could pass validation, when its jti may be forgotten.
	issuer string
	until  time.Time
}

// VerifySET validates a Security Event Token pushed by the transmitter
// whose issuer and keys v was made with (NewVerifier's issuer, with the
// receiver's audience as its client ID): the same strict decoding, header
// rules and key selection as a logout token, then the SET's own rules. The
// typ header must be secevent+jwt (RFC 8417 §2.3), so a logout token or an
// ID token is never taken for a SET; iss must be the transmitter's, aud
// must contain the audience, iat must be within the maximum age and the
// clock skew, exp (if any) in the future, jti a non-empty string, and
// events must hold exactly one event, an object. A sub_id, or the event's
// subject, must be an object. Encrypted SETs are refused. It does not check
// for replay: the receiver does, by (iss, jti).
func (v *Verifier) VerifySET(ctx context.Context, rawSET string) (*SecurityEvent, error) {
	var t token
	if segments(rawSET) != 2 {
		return nil, fmt.Errorf("%w: a security event token must be a compact JWS", ErrMalformed)
	}
	claims, err := parseSET(rawSET, &t)
	if err != nil {
		return nil, err
	}
	if err := checkSETType(t.header.Typ); err != nil {
		return nil, err
	}
	iss, _ := claims["iss"].(string)
	tn, ok := v.tenants[iss]
	if !ok {
		return nil, fmt.Errorf("%w: security event token from %q, not a configured transmitter", ErrIssuer, clip(iss))
	}
	alg, err := tn.checkHeaderAlg(&t.header)
	if err != nil {
		return nil, err
	}
	if err := tn.checkSignature(ctx, &t, alg); err != nil {
		return nil, err
	}
	return tn.checkSETClaims(claims)
}

// parseSET splits a compact JWS and decodes its header, signature and
// payload as parseJWS does, keeping every claim: a SET's events and
// sub_id carry objects a logout token never has.
func parseSET(raw string, t *token) (map[string]any, error) {
	if len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("%w: token larger than %d bytes", ErrMalformed, maxTokenBytes)
	}
	h, rest, _ := strings.Cut(raw, ".")
	p, sig, _ := strings.Cut(rest, ".")
	if p == "" {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if err := decodeHeader(h, &t.header); err != nil {
		return nil, err
	}
	if err := checkHeaderShape(&t.header); err != nil {
		return nil, err
	}
	signature, err := b64url.DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	payload, err := b64url.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	var claims map[string]any
	if err := decodeObject(payload, &claims); err != nil {
		return nil, fmt.Errorf("%w: payload is not a strict JSON object: %s", ErrMalformed, jsonDetail(err))
	}
	t.signingInput = []byte(raw[:len(h)+1+len(p)])
	t.sig = signature
	return claims, nil
}

// checkSETType requires the explicit type of a SET (RFC 8417 §2.3; SSF
// 1.0 requires it), case-insensitively and with or without the
// application/ prefix (RFC 7515 §4.1.9). A token without it is not taken
// for a SET: that is what keeps a logout token, which may carry no typ,
// out of this endpoint.
func checkSETType(typ *string) error {
	if typ == nil {
		return fmt.Errorf("%w: typ missing, secevent+jwt required", ErrMalformed)
	}
	switch strings.ToLower(*typ) {
	case "secevent+jwt", "application/secevent+jwt":
		return nil
	}
	return fmt.Errorf("%w: typ %q is not secevent+jwt", ErrMalformed, clip(*typ))
}

// checkHeaderAlg returns the algorithm to verify with: one t allows.
func (t *tenant) checkHeaderAlg(h *joseHeader) (jwa.SignatureAlgorithm, error) {
	a, ok := t.algs[h.Alg]
	if !ok {
		return a, fmt.Errorf("%w: algorithm %q not allowed", ErrSignature, clip(h.Alg))
	}
	return a, nil
}

// checkSETClaims applies RFC 8417 §2.2 with the strictness of a logout
// token: aud, iat, exp, jti, then exactly one event (SSF 1.0) and its
// subject.
func (t *tenant) checkSETClaims(c map[string]any) (*SecurityEvent, error) {
	if err := t.checkSETAudience(c["aud"]); err != nil {
		return nil, err
	}
	now := t.opts.now()
	iat, ok := anyDate(c["iat"])
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: iat missing or not a number", errSETTime)
	case iat.After(now.Add(t.opts.skew)):
		return nil, fmt.Errorf("%w: iat %v is in the future (now %v)", errSETTime, iat.UTC(), now.UTC())
	case now.After(iat.Add(t.opts.maxAge + t.opts.skew)):
		return nil, fmt.Errorf("%w: iat %v is older than %v", errSETTime, iat.UTC(), t.opts.maxAge)
	}
	if rawExp, present := c["exp"]; present {
		exp, ok := anyDate(rawExp)
		if !ok || !now.Before(exp.Add(t.opts.skew)) {
			return nil, fmt.Errorf("%w: exp invalid or past", errSETTime)
		}
	}
	jti, _ := c["jti"].(string)
	if jti == "" {
		return nil, fmt.Errorf("%w: jti missing or not a non-empty string", errSETClaims)
	}
	events, ok := c["events"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: events missing or not an object", errSETClaims)
	}
	if len(events) != 1 {
		return nil, fmt.Errorf("%w: events holds %d events, a SET must hold exactly one", errSETClaims, len(events))
	}
	ev := &SecurityEvent{JTI: jti, IssuedAt: iat, issuer: t.issuer, until: iat.Add(t.opts.maxAge + t.opts.skew)}
	for typ, body := range events {
		ev.Type = typ
		if ev.Event, ok = body.(map[string]any); !ok {
			return nil, fmt.Errorf("%w: event %q is not an object", errSETClaims, clip(typ))
		}
	}
	subject, present := c["sub_id"]
	if !present {
		subject, present = ev.Event["subject"]
	}
	if present {
		if ev.Subject, ok = subject.(map[string]any); !ok {
			return nil, fmt.Errorf("%w: subject identifier is not an object", errSETClaims)
		}
	}
	return ev, nil
}

// checkSETAudience requires aud, a string or an array of strings, to
// contain the receiver's audience.
func (t *tenant) checkSETAudience(raw any) error {
	switch a := raw.(type) {
	case string:
		if a == t.clientID {
			return nil
		}
	case []any:
		for _, x := range a {
			if s, _ := x.(string); s == t.clientID {
				return nil
			}
		}
	default:
		return fmt.Errorf("%w: aud missing or not a string or array", ErrAudience)
	}
	return fmt.Errorf("%w: %q not in the security event token's aud", ErrAudience, t.clientID)
}

// anyDate is numericDate for a claim decoded into a map.
func anyDate(raw any) (time.Time, bool) {
	f, ok := raw.(float64)
	if !ok {
		return time.Time{}, false
	}
	return strictjson.NumericDate(f)
}
