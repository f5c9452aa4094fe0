package rp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/rp"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

// mintRaw signs the exact header and claims JSON given (RS256 with the
// OP's "rsa-1" key), so tests can send what no JSON encoder writes:
// duplicate members, case variants, invalid UTF-8.
func mintRaw(t testing.TB, header, claims string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(claims))
	return input + "." + sign(t, "RS256", keys(t).rsa, input)
}

// rawClaims is baseClaims as JSON text with extra members spliced in
// before the closing brace.
func rawClaims(t testing.TB, extra string) string {
	t.Helper()
	c := jsonB64(t, baseClaims())
	b, err := b64dec(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if extra == "" {
		return s
	}
	return strings.TrimSuffix(s, "}") + "," + extra + "}"
}

const rawHeader = `{"alg":"RS256","kid":"rsa-1","typ":"logout+jwt"}`

// TestStrictJSON holds header and claims to one strict reading (RFC 7515 §4,
// RFC 7519 §4): member names match exactly, a name given twice is malformed,
// and so is invalid UTF-8, so no member can mean one thing to the policy
// and another to whoever reads the token next.
func TestStrictJSON(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		claims  string
		opts    []rp.Option
		wantErr error
	}{
		{name: "baseline", header: rawHeader, claims: rawClaims(t, "")},
		{name: "header whitespace and member order", header: "{\"typ\" : \"JWT\",\n\"kid\":\"rsa-1\", \"alg\":\"RS256\"} ", claims: rawClaims(t, "")},
		{name: "header unknown member", header: `{"alg":"RS256","kid":"rsa-1","x-vendor":{"a":[1,null]}}`, claims: rawClaims(t, "")},

		// A case variant is another name, not the same member read twice.
		{name: "typ at+jwt then TYP JWT", header: `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt","TYP":"JWT"}`, claims: rawClaims(t, ""), wantErr: errType},
		{name: "TYP JWT then typ at+jwt", header: `{"alg":"RS256","kid":"rsa-1","TYP":"JWT","typ":"at+jwt"}`, claims: rawClaims(t, ""), wantErr: errType},
		{name: "typ at+jwt then Typ logout+jwt, explicit type required", header: `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt","Typ":"logout+jwt"}`, claims: rawClaims(t, ""), opts: []rp.Option{rp.WithRequireExplicitType()}, wantErr: errType},
		{name: "only TYP logout+jwt, explicit type required", header: `{"alg":"RS256","kid":"rsa-1","TYP":"logout+jwt"}`, claims: rawClaims(t, ""), opts: []rp.Option{rp.WithRequireExplicitType()}, wantErr: errType},
		{name: "only Alg RS256", header: `{"Alg":"RS256","kid":"rsa-1"}`, claims: rawClaims(t, ""), wantErr: errAlgorithm},
		{name: "KID beside kid is another member", header: `{"alg":"RS256","KID":"rsa-1","kid":"rsa-1"}`, claims: rawClaims(t, "")},

		{name: "jku null still present", header: `{"alg":"RS256","kid":"rsa-1","jku":null}`, claims: rawClaims(t, ""), wantErr: errForbiddenHeader},
		{name: "crit null still present", header: `{"alg":"RS256","kid":"rsa-1","crit":null}`, claims: rawClaims(t, ""), wantErr: errCritical},

		// Duplicate names.
		{name: "header typ twice", header: `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt","typ":"JWT"}`, claims: rawClaims(t, ""), wantErr: rp.ErrMalformed},
		{name: "header typ twice, once escaped", header: `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt","t\u0079p":"JWT"}`, claims: rawClaims(t, ""), wantErr: rp.ErrMalformed},
		{name: "header alg twice", header: `{"alg":"none","alg":"RS256","kid":"rsa-1"}`, claims: rawClaims(t, ""), wantErr: rp.ErrMalformed},
		{name: "header unknown member twice", header: `{"alg":"RS256","kid":"rsa-1","x":1,"x":2}`, claims: rawClaims(t, ""), wantErr: rp.ErrMalformed},
		{name: "claims sub twice", header: rawHeader, claims: rawClaims(t, `"sub":"admin"`), wantErr: rp.ErrMalformed},
		{name: "claims iss twice", header: rawHeader, claims: rawClaims(t, `"iss":"https://evil.example.com"`), wantErr: rp.ErrMalformed},
		{name: "claims unknown member twice", header: rawHeader, claims: rawClaims(t, `"x":1,"x":2`), wantErr: rp.ErrMalformed},
		{name: "claims duplicate inside events", header: rawHeader, claims: strings.Replace(rawClaims(t, ""), `"events":{`, `"events":{"a":1,"a":2,`, 1), wantErr: rp.ErrMalformed},
		{name: "claims case variant of sub is another claim", header: rawHeader, claims: rawClaims(t, `"SUB":"admin"`)},

		// Invalid UTF-8.
		{name: "header invalid UTF-8 in a value", header: "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":\"\xff\"}", claims: rawClaims(t, ""), wantErr: rp.ErrMalformed},
		{name: "header invalid UTF-8 in a name", header: "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"\xfe\":1}", claims: rawClaims(t, ""), wantErr: rp.ErrMalformed},
		{name: "claims invalid UTF-8 in sub", header: rawHeader, claims: strings.Replace(rawClaims(t, ""), `"sub":"user-1"`, "\"sub\":\"user-1\xc3\"", 1), wantErr: rp.ErrMalformed},
		{name: "claims invalid UTF-8 in an unknown claim", header: rawHeader, claims: rawClaims(t, "\"note\":\"\xed\xa0\x80\""), wantErr: rp.ErrMalformed},
		{name: "claims valid UTF-8 and escapes", header: rawHeader, claims: rawClaims(t, `"note":"é\u00e9\ud83d\ude00\n"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, nil, tt.opts...)
			_, err := v.Verify(context.Background(), mintRaw(t, tt.header, tt.claims))
			if !isErr(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestStrictJSONEncryptedHeader refuses a JWE whose protected header names
// a member twice before any decryption is tried.
func TestStrictJSONEncryptedHeader(t *testing.T) {
	k := keys(t)
	sealed := encrypt(t, mint(t, nil), jwa.RSA_OAEP_256(), &k.enc.PublicKey, "enc-1")
	parts := strings.Split(sealed, ".")
	h, err := b64dec(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, nil, rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1")))
	tests := []struct {
		name    string
		header  string
		wantErr error
	}{
		{name: "alg twice", header: strings.Replace(string(h), `"alg":`, `"alg":"RSA1_5","alg":`, 1), wantErr: rp.ErrMalformed},
		{name: "invalid UTF-8", header: strings.TrimSuffix(string(h), "}") + ",\"x\":\"\xff\"}", wantErr: rp.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := append([]string(nil), parts...)
			parts[0] = b64([]byte(tt.header))
			_, err := v.Verify(context.Background(), strings.Join(parts, "."))
			if !isErr(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
