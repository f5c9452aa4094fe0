package rp

import (
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// strictJSON is the one reading of everything a token carries as JSON: the
// JWS and JWE protected headers and the claims (RFC 7515 §4, RFC 7519 §4). Member names match exactly, so "TYP" is not
// "typ" (encoding/json would match it case-insensitively and keep the
// last); a name given twice in one object is an error rather than a choice
// between two values (RFC 7515 §4 lets a recipient reject it, RFC 8259 §4
// says parsers disagree on it); invalid UTF-8 is an error rather than
// U+FFFD. Unknown members are ignored, as the JOSE and JWT specifications
// require. The decoder is github.com/go-json-experiment/json, the Go
// team's mirror of encoding/json/v2: it aliases the standard library where
// the jsonv2 experiment is on (the default from Go 1.27), and it can be
// named while this module's go directive is 1.26, where encoding/json/v2's
// own API counts as go1.27. The options restate json/v2's defaults so that
// no default change upstream can loosen them silently.
var strictJSON = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false),
)

// decodeObject decodes the JSON object data into v with strictJSON. The
// caller has checked that data starts with '{', so a null or another
// kind of value never decodes into a zero v.
func decodeObject(data []byte, v any) error {
	return json.Unmarshal(data, v, strictJSON)
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
