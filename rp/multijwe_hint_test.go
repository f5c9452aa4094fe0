package rp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"

	"github.com/bclogout/bclogout/rp"
)

// encryptWithIss is encrypt with the issuer copied into the JWE header,
// as node oidc-provider does (RFC 7519 §5.3).
func encryptWithIss(t testing.TB, jws string, pub any, kid, iss string) string {
	t.Helper()
	hdrs := jwe.NewHeaders()
	_ = hdrs.Set("cty", "JWT")
	_ = hdrs.Set("kid", kid)
	_ = hdrs.Set("iss", iss)
	out, err := jwe.Encrypt([]byte(jws), jwe.WithKey(jwa.RSA_OAEP_256(), pub), jwe.WithContentEncryption(jwa.A256GCM()), jwe.WithProtectedHeaders(hdrs))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Five tenants whose encryption keys share one kid: the per-token bound on
// private-key operations used to leave the fifth tenant's key untried, so
// its genuine encrypted logouts were refused.
// The JWE header's iss now picks the tenant's keys; it is only a hint: a
// header naming another tenant opens nothing, and the bound still holds.
func TestJoinPicksTenantByJWEIssuer(t *testing.T) {
	var vs []*rp.Verifier
	var privs []*rsa.PrivateKey
	for i := range 5 {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		v, err := rp.NewVerifier(fmt.Sprintf("https://op-%d.example", i), testClientID, &staticSource{set: defaultSet(t)},
			rp.WithClock(clock), rp.WithDecryptionKeys(decryptionSet(t, priv, "enc")))
		if err != nil {
			t.Fatal(err)
		}
		vs, privs = append(vs, v), append(privs, priv)
	}
	m, err := rp.Join(vs...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		hint    string
		wantErr error
	}{
		{name: "hint names the tenant", hint: "https://op-4.example"},
		{name: "hint names another tenant", hint: "https://op-0.example", wantErr: rp.ErrEncryption},
		{name: "hint names nobody", hint: "https://evil.example", wantErr: rp.ErrEncryption},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := mint(t, both(setClaim("iss", "https://op-4.example"), setClaim("jti", fmt.Sprint("hint-", i))))
			_, err := m.Verify(context.Background(), encryptWithIss(t, inner, &privs[4].PublicKey, "enc", tt.hint))
			if !isErr(err, tt.wantErr) {
				t.Fatalf("Verify err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
