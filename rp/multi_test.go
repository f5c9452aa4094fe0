package rp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/bclogout/bclogout/rp"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

const otherIssuer = "https://other-op.example.org"

// twoTenants returns a joined Verifier over testIssuer (keys rsa, decryption
// key enc) and otherIssuer (keys rsa2, decryption key enc2).
func twoTenants(t testing.TB) *rp.Verifier {
	t.Helper()
	k := keys(t)
	a := newVerifier(t, nil, rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-a")))
	b, err := rp.NewVerifier(otherIssuer, testClientID,
		&staticSource{set: keySet(t, pubJWK(t, &k.rsa2.PublicKey, map[string]any{"kid": "rsa-b", "alg": "RS256"}))},
		rp.WithClock(clock), rp.WithDecryptionKeys(decryptionSet(t, k.enc2, "enc-b")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rp.Join(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestJoinVerify(t *testing.T) {
	k := keys(t)
	m := twoTenants(t)
	forB := both(setClaim("iss", otherIssuer), setHeader("kid", "rsa-b"), func(tk *tok) { tk.key = k.rsa2 })
	tests := []struct {
		name       string
		token      string
		wantIssuer string
		wantErr    error
	}{
		{name: "tenant A", token: mint(t, nil), wantIssuer: testIssuer},
		{name: "tenant B", token: mint(t, forB), wantIssuer: otherIssuer},
		{name: "A's token claiming B, A's kid", token: mint(t, setClaim("iss", otherIssuer)), wantErr: errUnknownKey},
		{name: "A's key claiming B, B's kid", token: mint(t, both(setClaim("iss", otherIssuer), setHeader("kid", "rsa-b"))), wantErr: errBadSignature},
		{name: "unknown issuer", token: mint(t, setClaim("iss", "https://third.example")), wantErr: rp.ErrIssuer},
		{name: "no issuer", token: mint(t, setClaim("iss", nil)), wantErr: rp.ErrIssuer},
		{name: "malformed", token: "x.y.z", wantErr: rp.ErrMalformed},
		{name: "JWE for A", token: encrypt(t, mint(t, nil), jwa.RSA_OAEP_256(), &k.enc.PublicKey, ""), wantIssuer: testIssuer},
		{name: "JWE for B", token: encrypt(t, mint(t, forB), jwa.RSA_OAEP_256(), &k.enc2.PublicKey, ""), wantIssuer: otherIssuer},
		{name: "B's token encrypted to A's key", token: encrypt(t, mint(t, forB), jwa.RSA_OAEP_256(), &k.enc.PublicKey, ""), wantErr: rp.ErrEncryption},
		{name: "JWE to nobody's key", token: encrypt(t, mint(t, nil), jwa.RSA_OAEP_256(), &k.rsa.PublicKey, ""), wantErr: rp.ErrEncryption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := m.Verify(context.Background(), tt.token)
			if !isErr(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && ev.Issuer != tt.wantIssuer {
				t.Errorf("Issuer = %q, want %q", ev.Issuer, tt.wantIssuer)
			}
		})
	}
}

func TestJoinSameJTIAtTwoOPs(t *testing.T) {
	k := keys(t)
	env := newHandlerEnv(t, twoTenants(t))
	checkAnswer(t, post(env.h, formBody(mint(t, nil))), http.StatusOK, "")
	checkAnswer(t, post(env.h, formBody(mint(t, both(setClaim("iss", otherIssuer), setHeader("kid", "rsa-b"), func(tk *tok) { tk.key = k.rsa2 })))), http.StatusOK, "")
}

func TestJoin(t *testing.T) {
	a := newVerifier(t, nil)
	a2 := newVerifier(t, nil)
	joined := twoTenants(t)
	tests := []struct {
		name    string
		vs      []*rp.Verifier
		wantErr bool
	}{
		{name: "one", vs: []*rp.Verifier{a}},
		{name: "none", wantErr: true},
		{name: "nil", vs: []*rp.Verifier{nil}, wantErr: true},
		{name: "duplicate issuer", vs: []*rp.Verifier{a, a2}, wantErr: true},
		{name: "an issuer a joined verifier holds", vs: []*rp.Verifier{joined, a}, wantErr: true},
		{name: "a joined verifier alone", vs: []*rp.Verifier{joined}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rp.Join(tt.vs...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Join() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
