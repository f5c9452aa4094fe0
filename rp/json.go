package rp

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting in a payload; logout claims nest three deep.
const maxJSONDepth = 32

var errJSON = errors.New("invalid JSON")

// parseClaims decodes a JSON object into the same values encoding/json
// gives an `any` (map[string]any, []any, string, float64, bool, nil).
// encoding/json's reflection costs more than a quarter of an RS256
// verification, so this strict RFC 8259 parser does the common case and
// hands strings with escapes or non-UTF-8 bytes to encoding/json, keeping
// its exact semantics (a differential fuzz test holds the two together).
func parseClaims(data []byte) (map[string]any, error) {
	p := jsonParser{b: data}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, errJSON
	}
	v, err := p.object()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, errJSON
	}
	return v, nil
}

type jsonParser struct {
	b     []byte
	i     int
	depth int
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (any, error) {
	p.ws()
	if p.i >= len(p.b) {
		return nil, errJSON
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return nil, errJSON
}

func (p *jsonParser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return errJSON
	}
	p.i += len(word)
	return nil
}

func (p *jsonParser) object() (map[string]any, error) {
	if p.depth++; p.depth > maxJSONDepth {
		return nil, errJSON
	}
	p.i++ // {
	m := make(map[string]any, 8)
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return m, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, errJSON
		}
		k, err := p.string()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, errJSON
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.ws()
		if p.i >= len(p.b) {
			return nil, errJSON
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return m, nil
		default:
			return nil, errJSON
		}
	}
}

func (p *jsonParser) array() ([]any, error) {
	if p.depth++; p.depth > maxJSONDepth {
		return nil, errJSON
	}
	p.i++ // [
	a := []any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.ws()
		if p.i >= len(p.b) {
			return nil, errJSON
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return a, nil
		default:
			return nil, errJSON
		}
	}
}

// string reads a string literal starting at its opening quote.
func (p *jsonParser) string() (string, error) {
	start := p.i
	p.i++
	escaped, nonASCII := false, false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start+1 : p.i]
			p.i++
			if !escaped && (!nonASCII || utf8.Valid(raw)) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", errJSON
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return "", errJSON
		default:
			if c >= utf8.RuneSelf {
				nonASCII = true
			}
			p.i++
		}
	}
	return "", errJSON
}

func (p *jsonParser) number() (float64, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.i < len(p.b) && '1' <= p.b[p.i] && p.b[p.i] <= '9':
		p.digits()
	default:
		return 0, errJSON
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return 0, errJSON
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return 0, errJSON
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return 0, errJSON
	}
	return f, nil
}

func (p *jsonParser) digits() int {
	n := 0
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}
