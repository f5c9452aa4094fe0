package rp

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/spec"
	"github.com/go-json-experiment/json/jsontext"
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

	// issuer is the SET's iss, the transmitter's: the replay key is
	// (issuer, JTI). acceptableUntil is the last moment VerifySET could
	// accept the SET, min(exp, iat+setMaxAge)+skew: its jti is remembered
	// until then (Logout hands both to the pipeline).
	issuer          string
	acceptableUntil time.Time
}

// minTime is the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// setMaxAge is how long after its iat a SET is accepted. Transmitters
// redeliver a SET that was not acknowledged, on a schedule RFC 8935
// leaves to them and that backs off to hours, so the window must outlast
// an outage of the receiver, not just the network's delay: a day covers
// a night's downtime and the retry schedules we know of. A late event is
// harmless to apply: a revocation ends only the logins made before its
// iat, so a day-old session-revoked ends what it would have ended at once
// and nothing since. The cost is the replay record, kept until
// AcceptableUntil.
const setMaxAge = 24 * time.Hour

// VerifySET validates a Security Event Token pushed by the transmitter
// whose issuer and keys v was made with (NewVerifier's issuer, with the
// receiver's audience as its client ID), in this order: the header,
// decoded strictly, with the header rules and key selection of a logout
// token; the unverified iss, read from the payload without building any
// of it; the signature over the token as received; and only then the
// claims, decoded, so that a forged SET costs a scan and a signature
// check, never the building of whatever JSON it holds. A header or
// payload that is not well formed, or a typ naming another kind of token,
// is ErrMalformed; an algorithm, key or signature that cannot be trusted
// is ErrSignature.
//
// The claims (RFC 8417 §2.2): iss must be the transmitter's (ErrIssuer),
// aud must contain the audience (ErrAudience), iat must be at most a day
// old and not in the future beyond the clock skew, exp (if any) not past
// (ErrTime); jti must be a non-empty string, events must hold exactly one
// event, an object, and a sub_id, or the event's subject, must be an
// object (ErrClaims). The day (rather than the logout token's maximum
// age, which WithMaxAge sets) lets a SET redelivered after the receiver's
// outage still be applied; AcceptableUntil says how long to remember its
// jti. Encrypted SETs are refused. VerifySET does not check for replay:
// the receiver does, by (iss, jti).
//
// typ may be absent. RFC 8417 §2.3 asks a transmitter for secevent+jwt
// only where its SETs could be confused with other JWTs (SSF 1.0 asks for
// it always, but Google's RISC documentation neither shows nor checks
// it), and a receiver that demanded it of a transmitter that omits it
// would lose every event. Absent, secevent+jwt and
// application/secevent+jwt are accepted in any case, and so is JWT, which
// says only that the token is a JWT (RFC 7519 §5.1), exactly what an
// absent typ says. Any other typ (logout+jwt, at+jwt, …) is refused.
// Without an explicit type, what keeps another token of the same issuer
// and audience from being taken for a SET are the ways RFC 8417 §4.3
// lists besides explicit typing. Distinct claims: a SET must carry the
// events claim, which an ID token or an access token never has; a logout
// token, which does, is refused by its back-channel logout event; and a
// nonce, which only an ID token carries, is refused whatever the typ.
// Distinct issuers and audiences, where the transmitter has them: an SSF
// stream's audience is the receiver's, not a client ID, and Google's RISC
// issuer is not its ID tokens' (a trailing slash).
func (v *Verifier) VerifySET(ctx context.Context, rawSET string) (*SecurityEvent, error) {
	var t token
	h, p, err := parseSETHeader(rawSET, &t.header)
	if err != nil {
		return nil, err
	}
	tn, payload, err := v.setTransmitter(p)
	if err != nil {
		return nil, err
	}
	alg, err := tn.checkHeaderAlg(&t.header)
	if err != nil {
		return nil, err
	}
	if t.sig, err = b64url.DecodeString(rawSET[len(h)+1+len(p)+1:]); err != nil {
		return nil, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	t.signingInput = []byte(rawSET[:len(h)+1+len(p)])
	if err := tn.checkSignature(ctx, &t, alg); err != nil {
		return nil, err
	}
	if len(payload) == 0 || payload[0] != '{' {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	var claims map[string]any
	if err := decodeObject(payload, &claims); err != nil {
		return nil, fmt.Errorf("%w: payload is not a strict JSON object: %s", ErrMalformed, jsonDetail(err))
	}
	if iss, _ := claims["iss"].(string); iss != tn.issuer {
		return nil, fmt.Errorf("%w: security event token from %q, not a configured transmitter", ErrIssuer, clip(iss))
	}
	return tn.checkSETClaims(claims)
}

// parseSETHeader splits a compact JWS into its header and payload
// segments and decodes the header into h, strictly, with the rules of
// every header (checkHeaderShape) and a SET's typ. Neither the payload nor
// the signature is decoded: that waits for the tenant.
func parseSETHeader(raw string, h *joseHeader) (hSeg, pSeg string, err error) {
	if len(raw) > maxTokenBytes {
		return "", "", fmt.Errorf("%w: token larger than %d bytes", ErrMalformed, maxTokenBytes)
	}
	if segments(raw) != 2 {
		return "", "", fmt.Errorf("%w: a security event token must be a compact JWS", ErrMalformed)
	}
	hSeg, rest, _ := strings.Cut(raw, ".")
	pSeg, _, _ = strings.Cut(rest, ".")
	if pSeg == "" {
		return "", "", fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if err := decodeHeader(hSeg, h); err != nil {
		return "", "", err
	}
	if err := checkHeaderShape(h); err != nil {
		return "", "", err
	}
	if err := checkSETType(h.Typ); err != nil {
		return "", "", err
	}
	return hSeg, pSeg, nil
}

// setTransmitter picks whose keys check the SET whose payload segment is
// p, by its unverified iss, as Verify does: an issuer that is not the
// transmitter's is told as such (RFC 8935 §2.4's invalid_issuer) rather
// than as a bad signature, and with several transmitters it picks the
// keys; the verified claims must then name the same issuer. Reading iss
// costs the payload's base64 decoding, whose result is returned for the
// claims, and a scan that builds nothing.
func (v *Verifier) setTransmitter(p string) (*tenant, []byte, error) {
	payload, err := b64url.DecodeString(p)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	iss := unverifiedIssuer(payload)
	tn, ok := v.tenants[iss]
	if !ok {
		return nil, nil, fmt.Errorf("%w: security event token from %q, not a configured transmitter", ErrIssuer, clip(iss))
	}
	return tn, payload, nil
}

// unverifiedIssuer is the string value of the top-level iss member of
// payload, or "" if it has none. The other members are parsed to be
// skipped, never built: a payload of nested JSON costs no allocation per
// value. Duplicate names are left to the strict decoding of the claims.
func unverifiedIssuer(payload []byte) string {
	d := jsontext.NewDecoder(bytes.NewBuffer(payload), jsontext.AllowDuplicateNames(true))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	for d.PeekKind() == '"' {
		name, err := d.ReadToken()
		if err != nil {
			return ""
		}
		if name.String() != "iss" {
			if d.SkipValue() != nil {
				return ""
			}
			continue
		}
		if tok, err := d.ReadToken(); err == nil && tok.Kind() == '"' {
			return tok.String()
		}
		return ""
	}
	return ""
}

// checkSETType accepts a SET's typ header (RFC 8417 §2.3), case-insensitively
// and with or without the application/ prefix (RFC 7515 §4.1.9): absent,
// secevent+jwt, or JWT, which names no kind of token. A typ naming another
// kind (logout+jwt, at+jwt, …) is refused.
func checkSETType(typ *string) error {
	if typ == nil {
		return nil
	}
	switch strings.ToLower(*typ) {
	case "secevent+jwt", "application/secevent+jwt", "jwt", "application/jwt":
		return nil
	}
	return fmt.Errorf("%w: typ %q is not a security event token's", ErrMalformed, clip(*typ))
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
	case now.After(iat.Add(setMaxAge + t.opts.skew)):
		return nil, fmt.Errorf("%w: iat %v is older than %v", errSETTime, iat.UTC(), setMaxAge)
	}
	until := iat.Add(setMaxAge)
	if rawExp, present := c["exp"]; present {
		exp, ok := anyDate(rawExp)
		if !ok || !now.Before(exp.Add(t.opts.skew)) {
			return nil, fmt.Errorf("%w: exp invalid or past", errSETTime)
		}
		until = minTime(until, exp)
	}
	jti, _ := c["jti"].(string)
	if jti == "" {
		return nil, fmt.Errorf("%w: jti missing or not a non-empty string", errSETClaims)
	}
	// An ID token has no events (RFC 8417 §4.3), a logout token holds
	// the back-channel logout event, and only an ID token has a nonce:
	// with typ optional, these are what refuse them.
	events, ok := c["events"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: events missing or not an object", errSETClaims)
	}
	if _, logout := events[spec.BackchannelLogoutEvent]; logout {
		return nil, fmt.Errorf("%w: a logout token is not a security event token", errSETClaims)
	}
	if _, nonce := c["nonce"]; nonce {
		return nil, fmt.Errorf("%w: nonce present", errSETClaims)
	}
	if len(events) != 1 {
		return nil, fmt.Errorf("%w: events holds %d events, a SET must hold exactly one", errSETClaims, len(events))
	}
	ev := &SecurityEvent{JTI: jti, IssuedAt: iat, issuer: t.issuer, acceptableUntil: until.Add(t.opts.skew)}
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
	return floatDate(f)
}
