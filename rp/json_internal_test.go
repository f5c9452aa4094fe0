package rp

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseClaims(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "claims", in: `{"iss":"https://op","aud":["a","b"],"iat":1700000000,"exp":1.7e9,"events":{"http://schemas.openid.net/event/backchannel-logout":{}},"x":null,"y":true,"z":false}`},
		{name: "escapes", in: `{"s":"a\"b\\c\/d\u00e9\ud83d\ude00\n"}`},
		{name: "empty", in: ` { } `},
		{name: "duplicate keys, last wins", in: `{"a":1,"a":2}`},
		{name: "invalid utf-8", in: "{\"a\":\"\xff\"}"},
		{name: "negative zero and exponents", in: `{"a":-0,"b":1E+2,"c":0.5e-3}`},
		{name: "not an object", in: `[1]`, wantErr: true},
		{name: "trailing data", in: `{}x`, wantErr: true},
		{name: "trailing comma", in: `{"a":1,}`, wantErr: true},
		{name: "leading zero", in: `{"a":01}`, wantErr: true},
		{name: "bad escape", in: `{"a":"\x"}`, wantErr: true},
		{name: "control char", in: "{\"a\":\"\x01\"}", wantErr: true},
		{name: "NaN", in: `{"a":NaN}`, wantErr: true},
		{name: "unterminated", in: `{"a":"b`, wantErr: true},
		{name: "too deep", in: `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, wantErr: true},
		{name: "huge number", in: `{"a":1e400}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseClaims([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseClaims() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tt.in), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parseClaims() = %#v, want %#v", got, want)
			}
		})
	}
}

// FuzzParseClaims holds parseClaims to encoding/json's decoding into
// map[string]any, except that parseClaims refuses deep nesting.
func FuzzParseClaims(f *testing.F) {
	f.Add(`{"iss":"x","aud":["a"],"iat":1,"events":{"e":{}},"s":"\u00e9\n"}`)
	f.Add(`{"a":[1,2,{"b":null}],"c":-0.5e10}`)
	f.Add("{\"a\":\"\xff\\u0041\"}")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseClaims([]byte(in))
		var want map[string]any
		werr := json.Unmarshal([]byte(in), &want)
		if werr == nil && want == nil {
			werr = errJSON // "null" is not an object
		}
		switch {
		case err == nil && werr != nil:
			t.Fatalf("parseClaims accepted %q, encoding/json: %v", in, werr)
		case err != nil && werr == nil:
			if depth(in) <= maxJSONDepth {
				t.Fatalf("parseClaims rejected %q: %v", in, err)
			}
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("parseClaims(%q) = %#v, want %#v", in, got, want)
		}
	})
}

// depth over-approximates nesting by counting brackets.
func depth(s string) int {
	d, maxD := 0, 0
	for _, c := range s {
		switch c {
		case '{', '[':
			d++
			maxD = max(maxD, d)
		case '}', ']':
			d--
		}
	}
	return maxD
}
