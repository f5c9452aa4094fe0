package rp

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// BackchannelLogoutEvent is the member of the events claim that makes a
// JWT a logout token (spec §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutEvent is a validated logout token.
type LogoutEvent struct {
	// Issuer is the token's iss: a configured issuer.
	Issuer string
	// Subject is the token's sub; empty when the OP sent only a sid.
	Subject string
	// SessionID is the token's sid; empty when the OP sent only a sub.
	SessionID string
	// JTI is the token's jti, the replay key together with Issuer.
	JTI string
	// Audience is the token's aud, always as a list.
	Audience []string
	// IssuedAt is the token's iat.
	IssuedAt time.Time
	// Expires is the token's exp; zero when the token had none.
	Expires time.Time
	// AcceptableUntil is the last moment this token could pass validation,
	// min(exp, iat+maxAge)+skew: a replay cache must remember the jti
	// until then.
	AcceptableUntil time.Time
	// Claims holds every payload claim, decoded from JSON (numbers are
	// float64), for callers who need more than the fields above.
	Claims map[string]any
}

// Logout returns what the event asks a session store to end.
func (e *LogoutEvent) Logout() sessionadapter.Logout {
	return sessionadapter.Logout{
		Issuer:    e.Issuer,
		Subject:   e.Subject,
		SessionID: e.SessionID,
		IssuedAt:  e.IssuedAt,
	}
}

// checkClaims applies the claim rules of Back-Channel Logout 1.0 §2.4 in the order of §2.6:
// iss (already matched by the caller), aud, iat, exp, sub/sid, events,
// nonce, jti.
func (v *Verifier) checkClaims(c map[string]any) (*LogoutEvent, error) {
	ev := &LogoutEvent{Issuer: v.issuer, Claims: c}
	aud, err := v.checkAudience(c["aud"])
	if err != nil {
		return nil, err
	}
	ev.Audience = aud

	now := v.opts.now()
	iat, ok := numericDate(c["iat"])
	if !ok {
		return nil, fmt.Errorf("%w: iat missing or not a number", ErrIssuedAt)
	}
	if iat.After(now.Add(v.opts.skew)) {
		return nil, fmt.Errorf("%w: iat %v is in the future (now %v)", ErrIssuedAt, iat.UTC(), now.UTC())
	}
	until := iat.Add(v.opts.maxAge)
	if now.After(until.Add(v.opts.skew)) {
		return nil, fmt.Errorf("%w: iat %v is older than %v", ErrIssuedAt, iat.UTC(), v.opts.maxAge)
	}
	ev.IssuedAt = iat

	if rawExp, present := c["exp"]; present {
		exp, ok := numericDate(rawExp)
		if !ok {
			return nil, fmt.Errorf("%w: exp not a number", ErrExpired)
		}
		if !now.Before(exp.Add(v.opts.skew)) {
			return nil, fmt.Errorf("%w: exp %v (now %v)", ErrExpired, exp.UTC(), now.UTC())
		}
		ev.Expires = exp
		if exp.Before(until) {
			until = exp
		}
	} else if v.opts.requireExp {
		return nil, fmt.Errorf("%w: required by WithRequireExp", ErrExpMissing)
	}
	ev.AcceptableUntil = until.Add(v.opts.skew)

	if ev.Subject, ev.SessionID, err = v.checkSubject(c); err != nil {
		return nil, err
	}
	if err := checkEvents(c["events"]); err != nil {
		return nil, err
	}
	if _, present := c["nonce"]; present {
		return nil, fmt.Errorf("%w", ErrNonce)
	}
	jti, ok := c["jti"].(string)
	if !ok || jti == "" {
		return nil, fmt.Errorf("%w: jti missing or not a non-empty string", ErrJTI)
	}
	ev.JTI = jti
	return ev, nil
}

// checkAudience requires aud (string or array of strings) to contain the
// client ID and, with WithTrustedAudiences, nothing untrusted.
func (v *Verifier) checkAudience(raw any) ([]string, error) {
	var aud []string
	switch a := raw.(type) {
	case string:
		aud = []string{a}
	case []any:
		aud = make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%w: aud member is not a string", ErrAudience)
			}
			aud = append(aud, s)
		}
	default:
		return nil, fmt.Errorf("%w: aud missing or not a string or array", ErrAudience)
	}
	if !slices.Contains(aud, v.clientID) {
		return nil, fmt.Errorf("%w: %q not in aud", ErrAudience, v.clientID)
	}
	if v.opts.restrictAud {
		for _, a := range aud {
			if !slices.Contains(v.opts.trustedAud, a) {
				return nil, fmt.Errorf("%w: untrusted audience %q", ErrAudience, clip(a))
			}
		}
	}
	return aud, nil
}

// checkSubject requires sub and/or sid as non-empty strings, and sid when
// the client registered backchannel_logout_session_required.
func (v *Verifier) checkSubject(c map[string]any) (sub, sid string, err error) {
	rawSub, hasSub := c["sub"]
	rawSid, hasSid := c["sid"]
	if !hasSub && !hasSid {
		return "", "", fmt.Errorf("%w: neither sub nor sid", ErrSubject)
	}
	if hasSub {
		if sub, _ = rawSub.(string); sub == "" {
			return "", "", fmt.Errorf("%w: sub is not a non-empty string", ErrSubject)
		}
	}
	if hasSid {
		if sid, _ = rawSid.(string); sid == "" {
			return "", "", fmt.Errorf("%w: sid is not a non-empty string", ErrSubject)
		}
	}
	if v.opts.sessionRequired && sid == "" {
		return "", "", fmt.Errorf("%w", ErrSessionIDRequired)
	}
	return sub, sid, nil
}

// checkEvents requires events to be an object whose back-channel logout
// member is an object; other members are ignored (Keycloak adds a boolean).
func checkEvents(raw any) error {
	events, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: events missing or not an object", ErrEvents)
	}
	if _, ok := events[BackchannelLogoutEvent].(map[string]any); !ok {
		return fmt.Errorf("%w: back-channel logout event missing or not an object", ErrEvents)
	}
	return nil
}

// maxNumericDate keeps converted times far inside time.Time's range.
const maxNumericDate = 1 << 40

// numericDate converts a JSON NumericDate (RFC 7519 §2), fractions allowed.
func numericDate(raw any) (time.Time, bool) {
	f, ok := raw.(float64)
	if !ok || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
