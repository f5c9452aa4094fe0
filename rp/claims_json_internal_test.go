package rp

import (
	stdjson "encoding/json"
	"errors"
	"github.com/bclogout/bclogout/internal/spec"
	"github.com/go-json-experiment/json/jsontext"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeClaims(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "claims", in: `{"iss":"https://op","aud":["a","b"],"iat":1700000000,"exp":1.7e9,"events":{"http://schemas.openid.net/event/backchannel-logout":{}},"x":null,"y":true,"z":false}`},
		{name: "escapes", in: `{"s":"a\"b\\c\/d\u00e9\ud83d\ude00\n"}`},
		{name: "empty", in: `{ } `},
		{name: "negative zero and exponents", in: `{"a":-0,"b":1E+2,"c":0.5e-3}`},
		{name: "case variants are distinct names", in: `{"sub":"a","SUB":"b","Sub":"c"}`},
		{name: "nested deeply within the decoder's bound", in: `{"a":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`},
		{name: "duplicate names", in: `{"a":1,"a":2}`, wantErr: true},
		{name: "duplicate names, one escaped", in: `{"a":1,"\u0061":2}`, wantErr: true},
		{name: "duplicate names in a nested object", in: `{"e":{"x":{},"x":{}}}`, wantErr: true},
		{name: "invalid utf-8 in a value", in: "{\"a\":\"\xff\"}", wantErr: true},
		{name: "invalid utf-8 in a name", in: "{\"\xc3\":1}", wantErr: true},
		{name: "surrogate half encoded in utf-8", in: "{\"a\":\"\xed\xa0\x80\"}", wantErr: true},
		{name: "not an object", in: `[1]`, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "a string", in: `"x"`, wantErr: true},
		{name: "trailing data", in: `{}x`, wantErr: true},
		{name: "two objects", in: `{}{}`, wantErr: true},
		{name: "trailing comma", in: `{"a":1,}`, wantErr: true},
		{name: "leading zero", in: `{"a":01}`, wantErr: true},
		{name: "bad escape", in: `{"a":"\x"}`, wantErr: true},
		{name: "control char", in: "{\"a\":\"\x01\"}", wantErr: true},
		{name: "NaN", in: `{"a":NaN}`, wantErr: true},
		{name: "unterminated", in: `{"a":"b`, wantErr: true},
		{name: "too deep", in: `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, wantErr: true},
		{name: "claims of the wrong kinds", in: `{"iss":1,"sub":null,"sid":{},"jti":[],"aud":[1,"a"],"iat":"1","exp":true,"events":[],"nonce":false}`},
		{name: "null nonce counts as present", in: `{"nonce":null}`},
		{name: "events member of the wrong kind", in: `{"events":{"http://schemas.openid.net/event/backchannel-logout":"x","other":true}}`},
		{name: "escaped claim names", in: `{"\u0069ss":"x","events":{"http:\/\/schemas.openid.net\/event\/backchannel-logout":{}}}`},
		{name: "claim names differing in case are other claims", in: `{"ISS":"x","Nonce":1,"AUD":"a"}`},
		{name: "duplicate claim names", in: `{"iss":"a","iss":"b"}`, wantErr: true},
		{name: "duplicate names in events", in: `{"events":{"http://schemas.openid.net/event/backchannel-logout":{},"http://schemas.openid.net/event/backchannel-logout":{}}}`, wantErr: true},
		{name: "invalid utf-8 in an ignored claim", in: "{\"x\":[\"\xff\"]}", wantErr: true},
		{name: "invalid utf-8 in iss", in: "{\"iss\":\"https://op\xff\"}", wantErr: true},
		{name: "invalid utf-8 in an aud member", in: "{\"aud\":[\"a\",\"\xc3\"]}", wantErr: true},
		{name: "escaped iss and aud", in: `{"iss":"https:\/\/op\u002e","aud":["\u0061",""]}`},
		{name: "escaped iss longer than its array", in: `{"iss":"https:` + strings.Repeat("o", 150) + `\/` + strings.Repeat("p", 150) + `"}`},
		{name: "iss and aud longer than their arrays", in: `{"iss":"https://` + strings.Repeat("o", 300) + `","aud":["` + strings.Repeat("a", 200) + `","b","c","d","e","f"]}`},
		{name: "huge number is no date", in: `{"iat":1e400}`},
		{name: "kept strings gathered in any order", in: `{"azp":"z","jti":"j","sid":"s","sub":"u"}`},
		{name: "kept strings after claims of other kinds", in: `{"sub":1,"aud":["a"],"sid":"s\u0000","jti":null,"azp":"\ud83d\ude00"}`},
		{name: "kept strings longer than the stack buffer", in: `{"sub":"` + strings.Repeat("u", 150) + `","azp":"` + strings.Repeat(`\u00e9`, 100) + `","sid":"s"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeClaims([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("decodeClaims() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			// Where both accept, the claims are what encoding/json reads.
			var m map[string]any
			if stdjson.Unmarshal([]byte(tt.in), &m) != nil {
				if _, ok := numericDate(got.Iat); ok {
					t.Errorf("iat %v taken as a date", got.Iat.f)
				}
				return
			}
			if want := claimsOf(m); !reflect.DeepEqual(got, want) {
				t.Errorf("decodeClaims() = %+v, want %+v", got, want)
			}
		})
	}
}

// decodeClaims decodes a payload as parseJWS does.
func decodeClaims(b []byte) (claims, error) {
	// A token of its own: the claims returned point into it.
	t := new(token)
	if len(b) == 0 || b[0] != '{' {
		return claims{}, errors.New("json: not an object")
	}
	err := t.readClaims(b)
	return t.claims, err
}

// claimsOf is the claims view of encoding/json's decoding of a payload,
// an independent reading of what the strict decoder must find.
func claimsOf(m map[string]any) claims {
	var c claims
	str := func(name string) stringClaim {
		v, present := m[name]
		s, ok := v.(string)
		return stringClaim{s: s, present: present, ok: ok}
	}
	num := func(name string) number {
		v, present := m[name]
		f, ok := v.(float64)
		return number{f: f, present: present, ok: ok}
	}
	// iss and aud member strings are held as the decoder holds them.
	add := func(to *comparedStrings, s string) {
		quoted, err := jsontext.AppendQuote(nil, s)
		if err == nil {
			err = to.add(quoted)
		}
		if err != nil {
			panic(err)
		}
	}
	iss := str("iss")
	c.Iss.present, c.Iss.ok = iss.present, iss.ok
	if iss.ok {
		add(&c.Iss.v, iss.s)
	}
	c.Sub, c.Sid, c.Jti, c.Azp = str("sub"), str("sid"), str("jti"), str("azp")
	c.Iat, c.Exp = num("iat"), num("exp")
	if v, present := m["aud"]; present {
		c.Aud.present = true
		switch a := v.(type) {
		case string:
			c.Aud.ok = true
			add(&c.Aud.list, a)
		case []any:
			c.Aud.ok = true
			for _, x := range a {
				if s, ok := x.(string); ok {
					add(&c.Aud.list, s)
				} else {
					c.Aud.ok = false
				}
			}
		}
	}
	if v, present := m["events"]; present {
		if e, ok := v.(map[string]any); ok {
			c.Events.object = true
			_, c.Events.logout = e[spec.BackchannelLogoutEvent].(map[string]any)
		}
	}
	_, nonce := m["nonce"]
	c.Nonce = presentClaim(nonce)
	return c
}

// FuzzDecodeClaims: whatever the input, decoding ends without a panic, and
// what it accepts is valid UTF-8, valid JSON, free of duplicate names and
// decoded to the claims encoding/json reads.
func FuzzDecodeClaims(f *testing.F) {
	f.Add(`{"iss":"x","aud":["a"],"iat":1,"events":{"e":{}},"s":"\u00e9\n"}`)
	f.Add(`{"a":[1,2,{"b":null}],"c":-0.5e10}`)
	f.Add("{\"a\":\"\xff\\u0041\"}")
	f.Add(`{"a":1,"a":2}`)
	f.Add(`{"typ":"x","TYP":"y"}`)
	f.Add(`{"sub":1,"azp":"z","sid":"\u0000","jti":"\ud83d\ude00","aud":"a"}`)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := decodeClaims([]byte(in))
		if err != nil {
			if jsonDetail(err) == "" {
				t.Fatal("error without detail")
			}
			return
		}
		if !utf8.ValidString(in) || !stdjson.Valid([]byte(in)) {
			t.Fatalf("accepted %q, which is not valid UTF-8 JSON", in)
		}
		if hasDuplicateNames(t, in) {
			t.Fatalf("accepted %q, which repeats a name", in)
		}
		var want map[string]any
		if err := stdjson.Unmarshal([]byte(in), &want); err != nil {
			return // a number beyond float64, which no date check accepts
		}
		if c := claimsOf(want); !reflect.DeepEqual(got, c) {
			t.Fatalf("decodeClaims(%q) = %+v, encoding/json %+v", in, got, c)
		}
	})
}

// hasDuplicateNames walks in with encoding/json's tokenizer, an
// independent check of what the strict decoder must have refused.
func hasDuplicateNames(t *testing.T, in string) bool {
	t.Helper()
	dec := stdjson.NewDecoder(strings.NewReader(in))
	type frame struct {
		names   map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.wantKey {
			if s, ok := tok.(string); ok {
				if top.names[s] {
					return true
				}
				top.names[s] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case stdjson.Delim('{'):
			stack = append(stack, &frame{names: map[string]bool{}, wantKey: true})
			continue
		case stdjson.Delim('['):
			stack = append(stack, &frame{})
			continue
		case stdjson.Delim('}'), stdjson.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object expects a name next.
		if len(stack) > 0 && stack[len(stack)-1].names != nil {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// A Keycloak-like header and claims, as bytes after base64url decoding.
var (
	benchHeader = []byte(`{"alg":"RS256","kid":"rsa-1","typ":"logout+jwt"}`)
	benchClaims = []byte(`{"aud":"client-1","events":{"http://schemas.openid.net/event/backchannel-logout":{}},"exp":1748779320,"iat":1748779190,"iss":"https://op.example.com","jti":"3d4c1ad1-0e5f-4c9e-9a64-22d0b6b1a2f7","sid":"5b8f3f2e-7d3c-4d9e-8f1a-9c2b7e6d5a40","sub":"f81d4fae-7dec-11d0-a765-00a0c91e6bf6","typ":"Logout"}`)
)

// BenchmarkDecodeStrict decodes a header and claims the way every token is
// decoded; BenchmarkBaselineDecodeEncodingJSON does the same with
// encoding/json, which is lax on exactly what strictJSON refuses, so the
// price of strictness reads as a ratio.
func BenchmarkDecodeStrict(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var h joseHeader
		decodeStrict(b, &h)
	}
}

func BenchmarkBaselineDecodeEncodingJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		decodeEncodingJSON(b)
	}
}

// decodeStrict decodes benchHeader into h and benchClaims the way every
// token is decoded.
func decodeStrict(b *testing.B, h *joseHeader) {
	_, err := decodeClaims(benchClaims)
	if decodeObject(benchHeader, h) != nil || err != nil {
		b.Fatal("decode failed")
	}
}

// decodeEncodingJSON decodes the same bytes with encoding/json.
func decodeEncodingJSON(b *testing.B) {
	var h struct {
		Alg, Kid string
		Typ      *string
		Crit     stdjson.RawMessage
	}
	var c map[string]any
	if stdjson.Unmarshal(benchHeader, &h) != nil || stdjson.Unmarshal(benchClaims, &c) != nil {
		b.Fatal("decode failed")
	}
}

// BenchmarkInterleavedDecodeStrict reads the strict decoder's ratio to
// encoding/json from alternating runs of the two (see interleaved).
func BenchmarkInterleavedDecodeStrict(b *testing.B) {
	var h joseHeader
	interleaved(b, func() { decodeStrict(b, &h) }, func() { decodeEncodingJSON(b) }, nil)
}
