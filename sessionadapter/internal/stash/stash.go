// Package stash holds what the session adapters (scsadapter,
// gorillaadapter) share about the login they stash in a session's values.
package stash

import (
	stdjson "encoding/json"
	"math"
	"strconv"
	"time"
)

// LoginTime reads back a login time that an adapter stashed in a
// session's values as Unix milliseconds (Binding.LoginTime.UnixMilli()), in
// every form a session serializer can give back: int64 (gob), int,
// float64 or json.Number (JSON), a decimal string. ok is false for
// anything else, for a fraction and for a time not after the epoch; the
// caller then leaves the binding's LoginTime zero, which the guard ends
// (fail closed), so an unreadable time never keeps a session alive.
func LoginTime(v any) (t time.Time, ok bool) {
	var ms int64
	switch n := v.(type) {
	case int64:
		ms = n
	case int:
		ms = int64(n)
	case float64:
		// A login time in milliseconds (below 2^53) survives a float64
		// exactly.
		if n != math.Trunc(n) || n <= 0 || n >= 1<<53 {
			return time.Time{}, false
		}
		ms = int64(n)
	case stdjson.Number:
		i, err := n.Int64()
		if err != nil {
			return time.Time{}, false
		}
		ms = i
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		ms = i
	default:
		return time.Time{}, false
	}
	if ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
