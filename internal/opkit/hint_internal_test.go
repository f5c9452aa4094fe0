package opkit

import (
	"strings"
	"testing"
)

// FuzzVerifyHint feeds end_session's id_token_hint parser arbitrary input
// and mutations of a genuine hint: no panic, and nothing accepted but what
// the OP signed.
func FuzzVerifyHint(f *testing.F) {
	op, err := newOP([]Option{WithAlg("ES256"), WithIssuer("https://op.example")})
	if err != nil {
		f.Fatal(err)
	}
	defer op.Close()
	good, err := (&Token{Claims: map[string]any{"iss": op.issuer, "aud": []string{"a", "b"}, "sub": "alice", "sid": "s"}}).Sign(op.Key())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(Tamper(good))
	f.Add("e30.e30.")
	f.Add(strings.Repeat(".", 4))
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := op.verifyHint(raw)
		if err != nil {
			return
		}
		// Another encoding of the signature (an ECDSA high s) may pass;
		// another signed content would be a forgery.
		if signed(raw) != signed(good) {
			t.Fatalf("accepted %q, not the genuine hint", raw)
		}
		if len(h.aud) != 2 || h.sid != "s" || h.sub != "alice" {
			t.Fatalf("hint %+v", h)
		}
	})
}

// signed is the signing input of a compact JWS.
func signed(compact string) string {
	i := strings.LastIndexByte(compact, '.')
	if i < 0 {
		return ""
	}
	return compact[:i]
}
