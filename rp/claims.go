package rp

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/bclogout/bclogout/internal/spec"
	"github.com/bclogout/bclogout/sessionadapter"
)

// LogoutEvent is one validated logout, whichever door it came through: a
// logout token (the Handler's own), or an event another door hands to
// Handler.End (a front-channel request, the app's Sign out, a Security
// Event Token). It is what the pipeline revokes, ends and records, and
// what OnLogout receives.
type LogoutEvent struct {
	// Logout is what the stores end: the Issuer's sessions of the user
	// Subject, or of the OP session SessionID (empty when the door named
	// only the other), dated IssuedAt on the OP's clock (a token's iat),
	// which is the clock logins are dated by. Issuer is a configured
	// issuer: sessions are keyed by it. A door whose input carries no OP
	// date (front-channel logout) leaves IssuedAt zero, and End dates it
	// by the one clock rule for RP-clock instants: this RP's clock plus
	// the OP clock skew (a minute), so that an OP clock that far ahead
	// still finds the login revoked; a login within that minute after it
	// is refused too (fail closed).
	sessionadapter.Logout
	// Door is how the logout arrived: "backchannel" (a logout token),
	// "frontchannel", "signout" or "sharedsignals". It labels the
	// metrics, the logs and the hooks.
	Door string
	// JTI is the token's jti, the replay key together with the token's
	// issuer, for an event this package validated from a token (Verify,
	// SecurityEvent.Logout); an event another door makes (front-channel,
	// Sign out) has none and skips the replay check.
	JTI string

	// acceptableUntil is the last moment the token could pass validation,
	// min(exp, iat+maxAge)+skew: the replay cache remembers its jti until
	// then.
	acceptableUntil time.Time
	// tokenIssuer is the iss of the token whose jti is the replay key,
	// when it is not Issuer (a SET's transmitter).
	tokenIssuer string
	// senderRetries marks an event whose sender delivers it again when
	// answered 503 (a SET, RFC 8935 §4): a failure is left to that
	// redelivery, never queued, since a queued retry would record the jti
	// and so refuse, as a replay, the very redelivery the 503 asked for.
	senderRetries bool
}

// namesSession reports whether ev names sessions to end: a SET only
// acknowledged (SecurityEvent.Logout with neither sub nor sid) does not.
func (ev *LogoutEvent) namesSession() bool { return ev.Subject != "" || ev.SessionID != "" }

// replayKey is the (iss, jti) the replay cache knows ev's token by; jti
// is empty for an event this package did not validate from a token, which
// has no acceptance window to remember it for.
func (ev *LogoutEvent) replayKey() (iss, jti string) {
	if ev.acceptableUntil.IsZero() {
		return "", ""
	}
	if ev.tokenIssuer != "" {
		return ev.tokenIssuer, ev.JTI
	}
	return ev.Issuer, ev.JTI
}

// Logout is the logout a session-ending SET asks for, for the pipeline
// (Handler.End): the sessions of sub, or of the OP session sid, at the
// OP's issuer, where the app's sessions are keyed, dated by the SET's iat.
// Its replay key is the SET's own (iss, jti), the transmitter's, kept
// until the SET could no longer be accepted.
func (e *SecurityEvent) Logout(issuer, sub, sid string) *LogoutEvent {
	return &LogoutEvent{
		Logout: sessionadapter.Logout{Issuer: issuer, Subject: sub, SessionID: sid, IssuedAt: e.IssuedAt},
		Door:   "sharedsignals", JTI: e.JTI, acceptableUntil: e.acceptableUntil, tokenIssuer: e.issuer,
		senderRetries: true,
	}
}

// claims are the payload members a logout token is judged on, decoded by
// the strict decoder in one pass with no map. Each keeps whether it was
// present and whether it had the right JSON kind, so that a claim of the
// wrong kind is an error of its class (ErrTime for a string iat), not a
// malformed token. Other members are ignored (RFC 7519 §4). iss and aud
// are only compared, never kept, so they are read into the claims' own
// arrays (comparedStrings) rather than into strings; claims are therefore
// decoded and used in place, never copied.
type claims struct {
	Iss    issClaim
	Sub    stringClaim
	Sid    stringClaim
	Jti    stringClaim
	Aud    audClaim
	Iat    number
	Exp    number
	Events eventsClaim
	Nonce  presentClaim
	// Azp is an ID token's authorized party (VerifyIDToken); a logout
	// token's is ignored.
	Azp stringClaim
}

// UnmarshalJSONFrom reads the payload object member by member, each claim
// by its exact name: a switch, where json/v2's struct decoding looks each
// name up in a map and each field's decoder up by reflection
// (BenchmarkInterleavedDecodeStrict: 0.376 -> 0.360 of encoding/json).
// The decoder's strict options still apply to every name and value: a
// duplicate name or invalid UTF-8 fails the whole object.
func (c *claims) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	if d.PeekKind() != '{' {
		if err := d.SkipValue(); err != nil {
			return err
		}
		return errors.New("claims are not a JSON object")
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	// sub, sid, jti and azp are kept, so they become strings; their
	// bytes are gathered in strs first (span: each one's start and end)
	// and made into one string once the object is read, one allocation
	// for them all where a string each cost one per claim.
	var buf [192]byte
	strs := buf[:0]
	var span [4][2]int
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		switch name.String() {
		case "iss":
			err = c.Iss.UnmarshalJSONFrom(d)
		case "sub":
			strs, err = appendString(d, &c.Sub, strs, &span[0])
		case "sid":
			strs, err = appendString(d, &c.Sid, strs, &span[1])
		case "jti":
			strs, err = appendString(d, &c.Jti, strs, &span[2])
		case "aud":
			err = c.Aud.UnmarshalJSONFrom(d)
		case "iat":
			err = c.Iat.UnmarshalJSONFrom(d)
		case "exp":
			err = c.Exp.UnmarshalJSONFrom(d)
		case "events":
			err = c.Events.UnmarshalJSONFrom(d)
		case "nonce":
			err = c.Nonce.UnmarshalJSONFrom(d)
		case "azp":
			strs, err = appendString(d, &c.Azp, strs, &span[3])
		default:
			err = d.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	if len(strs) > 0 {
		all := string(strs)
		for i, sc := range [...]*stringClaim{&c.Sub, &c.Sid, &c.Jti, &c.Azp} {
			if sc.ok {
				sc.s = all[span[i][0]:span[i][1]]
			}
		}
	}
	return nil
}

// stringClaim is a claim that must be a JSON string.
type stringClaim struct {
	s           string
	present, ok bool
}

// appendString reads into c a claim that must be a JSON string: a string
// is unquoted onto strs and its span there noted, for the caller to make
// s of; a member of another kind is skipped, with ok false.
func appendString(d *jsontext.Decoder, c *stringClaim, strs []byte, span *[2]int) ([]byte, error) {
	c.present = true
	if d.PeekKind() != '"' {
		return strs, d.SkipValue()
	}
	v, err := d.ReadValue()
	if err != nil {
		return strs, err
	}
	start := len(strs)
	if strs, err = jsontext.AppendUnquote(strs, v); err != nil {
		return strs, err
	}
	span[0], span[1], c.ok = start, len(strs), true
	return strs, nil
}

// comparedStrings holds JSON strings that are compared and never kept,
// unquoted back to back: in the arrays it carries while they fit (an
// issuer URL, a client ID or two), so that reading them allocates nothing.
// Its slices point into itself: it is used in place, never copied.
type comparedStrings struct {
	b    []byte
	ends []int
	bbuf [160]byte
	ebuf [4]int
}

// add unquotes the JSON string v, which the strict decoder has read and
// so validated, after the strings already held.
func (s *comparedStrings) add(v jsontext.Value) error {
	if s.b == nil {
		s.b, s.ends = s.bbuf[:0], s.ebuf[:0]
	}
	var err error
	if s.b, err = jsontext.AppendUnquote(s.b, v); err != nil {
		return err
	}
	s.ends = append(s.ends, len(s.b))
	return nil
}

// len is the number of strings held.
func (s *comparedStrings) len() int { return len(s.ends) }

// at is the i-th string held, valid while s is.
func (s *comparedStrings) at(i int) []byte {
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.b[start:s.ends[i]]
}

// issClaim is iss: a string, only compared with the configured issuers.
type issClaim struct {
	v           comparedStrings
	present, ok bool
}

func (c *issClaim) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	c.present = true
	if d.PeekKind() != '"' {
		return d.SkipValue()
	}
	v, err := d.ReadValue()
	if err != nil {
		return err
	}
	c.ok = true
	return c.v.add(v)
}

// bytes is iss as read, empty when it was missing or no string.
func (c *issClaim) bytes() []byte {
	if !c.ok {
		return nil
	}
	return c.v.at(0)
}

// audClaim is aud: a string or an array of strings (RFC 7519 §4.1.3).
type audClaim struct {
	list        comparedStrings
	present, ok bool
}

func (c *audClaim) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	c.present = true
	switch d.PeekKind() {
	case '"':
		v, err := d.ReadValue()
		if err != nil {
			return err
		}
		c.ok = true
		return c.list.add(v)
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		c.ok = true
		for {
			switch d.PeekKind() {
			case ']':
				_, err := d.ReadToken()
				return err
			case '"':
				v, err := d.ReadValue()
				if err != nil {
					return err
				}
				if err := c.list.add(v); err != nil {
					return err
				}
			default: // a member that is no string, or a syntax error
				c.ok = false
				if err := d.SkipValue(); err != nil {
					return err
				}
			}
		}
	}
	return d.SkipValue()
}

// contains reports whether aud holds s.
func (c *audClaim) contains(s string) bool {
	for i := range c.list.len() {
		if string(c.list.at(i)) == s {
			return true
		}
	}
	return false
}

// eventsClaim is events: an object whose back-channel logout member must
// be an object; other members are ignored (Keycloak adds a boolean).
type eventsClaim struct {
	object, logout bool
}

func (c *eventsClaim) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	if d.PeekKind() != '{' {
		return d.SkipValue()
	}
	c.object = true
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		if name.String() == spec.BackchannelLogoutEvent && d.PeekKind() == '{' {
			c.logout = true
		}
		if err := d.SkipValue(); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// presentClaim records that a claim is present, whatever its value (null
// included): a logout token must carry no nonce at all.
type presentClaim bool

func (c *presentClaim) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	*c = true
	return d.SkipValue()
}

// checkClaims applies the claim rules of Back-Channel Logout 1.0 §2.4 in
// the order of §2.6: iss (already matched by the caller), aud, iat, exp,
// sub/sid, events, nonce, jti.
func (t *tenant) checkClaims(c *claims) (*LogoutEvent, error) {
	if err := t.checkAudience(&c.Aud); err != nil {
		return nil, err
	}
	ev := &LogoutEvent{Door: doorBackchannel, Logout: sessionadapter.Logout{Issuer: t.issuer}}
	now := t.opts.now()
	iat, ok := numericDate(c.Iat)
	if !ok {
		return nil, fmt.Errorf("%w: iat missing or not a number", ErrTime)
	}
	if iat.After(now.Add(t.opts.skew)) {
		return nil, fmt.Errorf("%w: iat %v is in the future (now %v)", ErrTime, iat.UTC(), now.UTC())
	}
	until := iat.Add(t.opts.maxAge)
	if now.After(until.Add(t.opts.skew)) {
		return nil, fmt.Errorf("%w: iat %v is older than %v", ErrTime, iat.UTC(), t.opts.maxAge)
	}
	ev.IssuedAt = iat

	if c.Exp.present {
		exp, ok := numericDate(c.Exp)
		if !ok {
			return nil, fmt.Errorf("%w: exp not a number", ErrTime)
		}
		if !now.Before(exp.Add(t.opts.skew)) {
			return nil, fmt.Errorf("%w: exp %v has passed (now %v)", ErrTime, exp.UTC(), now.UTC())
		}
		if exp.Before(until) {
			until = exp
		}
	} else if t.opts.requireExp {
		return nil, fmt.Errorf("%w: exp missing, required by WithRequireExp", ErrTime)
	}
	ev.acceptableUntil = until.Add(t.opts.skew)

	var err error
	if ev.Subject, ev.SessionID, err = t.checkSubject(c); err != nil {
		return nil, err
	}
	switch {
	case !c.Events.object:
		return nil, fmt.Errorf("%w: events missing or not an object", ErrClaims)
	case !c.Events.logout:
		return nil, fmt.Errorf("%w: events: back-channel logout event missing or not an object", ErrClaims)
	case bool(c.Nonce):
		return nil, fmt.Errorf("%w: nonce present", ErrClaims)
	case !c.Jti.ok || c.Jti.s == "":
		return nil, fmt.Errorf("%w: jti missing or not a non-empty string", ErrClaims)
	}
	ev.JTI = c.Jti.s
	return ev, nil
}

// checkAudience requires aud (string or array of strings) to contain the
// client ID and, with WithTrustedAudiences, nothing untrusted.
func (t *tenant) checkAudience(aud *audClaim) error {
	switch {
	case !aud.present:
		return fmt.Errorf("%w: aud missing", ErrAudience)
	case !aud.ok:
		return fmt.Errorf("%w: aud is not a string or an array of strings", ErrAudience)
	case !aud.contains(t.clientID):
		return fmt.Errorf("%w: %q not in aud", ErrAudience, t.clientID)
	}
	if t.opts.restrictAud {
	members:
		for i := range aud.list.len() {
			a := aud.list.at(i)
			for _, trusted := range t.opts.trustedAud {
				if string(a) == trusted {
					continue members
				}
			}
			return fmt.Errorf("%w: untrusted audience %q", ErrAudience, clip(string(a)))
		}
	}
	return nil
}

// checkSubject requires sub and/or sid as non-empty strings, and sid when
// the client registered backchannel_logout_session_required.
func (t *tenant) checkSubject(c *claims) (sub, sid string, err error) {
	switch {
	case !c.Sub.present && !c.Sid.present:
		return "", "", fmt.Errorf("%w: subject: neither sub nor sid", ErrClaims)
	case c.Sub.present && (!c.Sub.ok || c.Sub.s == ""):
		return "", "", fmt.Errorf("%w: subject: sub is not a non-empty string", ErrClaims)
	case c.Sid.present && (!c.Sid.ok || c.Sid.s == ""):
		return "", "", fmt.Errorf("%w: subject: sid is not a non-empty string", ErrClaims)
	case t.opts.sessionRequired && !c.Sid.present:
		return "", "", fmt.Errorf("%w: sid required (backchannel_logout_session_required)", ErrClaims)
	}
	return c.Sub.s, c.Sid.s, nil
}

// numericDate converts a JSON NumericDate (RFC 7519 §2), fractions allowed.
func numericDate(n number) (time.Time, bool) {
	if !n.ok {
		return time.Time{}, false
	}
	return floatDate(n.f)
}

// tokenJSON is the one reading of the JSON a token carries (a logout
// token's or a SET's header and claims, an ID token's claims), so that a
// login time and the logout it is compared with are read by the same
// rules. Member names match exactly, so "TYP" is not "typ" (encoding/json
// would match it case-insensitively and keep the last); a name given twice
// in one object is an error rather than a choice between two values (RFC
// 7515 §4 lets a recipient reject it, RFC 8259 §4 says parsers disagree
// on it); invalid UTF-8 is an error rather than U+FFFD. Unknown members
// are ignored, as the JOSE and JWT specifications require. The decoder is
// github.com/go-json-experiment/json, the Go team's mirror of
// encoding/json/v2, which can be named while the module's go directive is
// 1.26. The options restate json/v2's defaults so that no default change
// upstream can loosen them silently. The OP's discovery document, which
// says where the keys are, is read by the same options.
var tokenJSON = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false),
)

// decodeObject decodes the JSON object data into v by tokenJSON. The
// caller has checked that data starts with '{', so a null or another kind
// of value never decodes into a zero v.
func decodeObject(data []byte, v any) error {
	return json.Unmarshal(data, v, tokenJSON)
}

// jsonDetail is a decoding error as log detail: the decoder's message,
// bounded like any other attacker-influenced text, and not wrapped, so no
// type of the JSON package reaches callers through errors.As.
func jsonDetail(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"jsontext: ", "json: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return clip(msg)
}

// maxNumericDate keeps converted times far inside time.Time's range (the
// year 36812), so any date read survives a round trip through UnixMilli.
const maxNumericDate = 1 << 40

// floatDate converts a JWT NumericDate (RFC 7519 §2: seconds since the
// epoch, an integer or a fraction) read as a float64; ok is false for NaN,
// a date not after the epoch, or one past maxNumericDate.
func floatDate(f float64) (t time.Time, ok bool) {
	if math.IsNaN(f) || f <= 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// number is a claim that must be a JSON number, as stringClaim is one
// that must be a string: a present member of another kind is skipped with
// ok false, so the caller can say which rule it broke. An overflow gives
// ±Inf, which floatDate refuses.
type number struct {
	f           float64
	present, ok bool
}

func (n *number) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	n.present = true
	if d.PeekKind() != '0' {
		return d.SkipValue()
	}
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	n.f, _ = tok.Float()
	n.ok = true
	return nil
}
