package rp

import (
	"strings"

	"github.com/bclogout/bclogout/internal/strictjson"
)

// decodeObject decodes the JSON object data into v with the strict
// reading every token gets (internal/strictjson: exact member names, no
// duplicates, valid UTF-8). The caller has checked that data starts with
// '{', so a null or another kind of value never decodes into a zero v.
func decodeObject(data []byte, v any) error {
	return strictjson.Unmarshal(data, v)
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
