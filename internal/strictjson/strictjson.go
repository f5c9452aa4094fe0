// Package strictjson is the one reading of JSON that a token carries, for
// rp (logout tokens, SETs: header and claims) and sessionadapter (the ID
// token claims a login is read from), so that a login time and the logout
// it is compared with are read by the same rules; and of the documents
// that name the keys and issuer of those tokens (the OP's discovery
// document, a Shared Signals transmitter's configuration).
//
// Member names match exactly, so "TYP" is not "typ" (encoding/json would
// match it case-insensitively and keep the last); a name given twice in
// one object is an error rather than a choice between two values (RFC 7515
// §4 lets a recipient reject it, RFC 8259 §4 says parsers disagree on it);
// invalid UTF-8 is an error rather than U+FFFD. Unknown members are
// ignored, as the JOSE and JWT specifications require. The decoder is
// github.com/go-json-experiment/json, the Go team's mirror of
// encoding/json/v2, which can be named while the module's go directive is
// 1.26. The options restate json/v2's defaults so that no default change
// upstream can loosen them silently.
package strictjson

import (
	"math"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

var options = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false),
)

// Unmarshal decodes data into v with the strict options.
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v, options)
}

// maxNumericDate keeps converted times far inside time.Time's range (the
// year 36812), so any date read survives a round trip through UnixMilli.
const maxNumericDate = 1 << 40

// NumericDate converts a JWT NumericDate (RFC 7519 §2: seconds since the
// epoch, an integer or a fraction) read as a float64; ok is false for NaN,
// a date not after the epoch, or one past maxNumericDate.
func NumericDate(f float64) (t time.Time, ok bool) {
	if math.IsNaN(f) || f <= 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// Number is a member that must be a JSON number; a present member of
// another kind is skipped with OK false, so the caller can say which rule
// it broke. An overflow gives ±Inf, which NumericDate refuses.
type Number struct {
	F           float64
	Present, OK bool
}

// UnmarshalJSONFrom implements json/v2's UnmarshalerFrom.
func (n *Number) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	n.Present = true
	if d.PeekKind() != '0' {
		return d.SkipValue()
	}
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	n.F, _ = tok.Float()
	n.OK = true
	return nil
}
