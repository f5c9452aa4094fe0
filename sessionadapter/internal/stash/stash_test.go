package stash_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter/internal/stash"
)

func TestLoginTime(t *testing.T) {
	const ms = 1_700_000_000_123
	want := time.UnixMilli(ms)
	tests := []struct {
		name string
		v    any
		ok   bool
	}{
		{name: "int64 (gob)", v: int64(ms), ok: true},
		{name: "int", v: int(ms), ok: true},
		{name: "float64 (JSON)", v: float64(ms), ok: true},
		{name: "json.Number", v: json.Number("1700000000123"), ok: true},
		{name: "decimal string", v: "1700000000123", ok: true},
		{name: "fraction", v: float64(ms) + 0.5},
		{name: "zero", v: int64(0)},
		{name: "negative", v: int64(-1)},
		{name: "too large for a float", v: float64(1 << 53)},
		{name: "not a number", v: "soon"},
		{name: "missing", v: nil},
		{name: "other type", v: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := stash.LoginTime(tt.v)
			if ok != tt.ok || (ok && !got.Equal(want)) || (!ok && !got.IsZero()) {
				t.Fatalf("LoginTime(%#v) = %v, %v; want %v", tt.v, got, ok, tt.ok)
			}
		})
	}
}
