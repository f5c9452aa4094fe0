package rp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"

	"github.com/bclogout/bclogout/rp"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

// TestJoinBoundsDecryption: a kid-less JWE that no tenant's key
// opens costs at most maxDecryptAttempts (4) private-key operations for the
// whole request, however many tenants are configured (not 4 per tenant:
// 64 for 16).
func TestJoinBoundsDecryption(t *testing.T) {
	var vs []*rp.Verifier
	for i := range 16 {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		v, err := rp.NewVerifier(fmt.Sprintf("https://op-%d.example", i), testClientID, &staticSource{set: defaultSet(t)},
			rp.WithClock(clock), rp.WithDecryptionKeys(decryptionSet(t, priv, fmt.Sprintf("enc-%d", i))))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	m, err := rp.Join(vs...)
	if err != nil {
		t.Fatal(err)
	}
	garbage := encrypt(t, mint(t, nil), jwa.RSA_OAEP_256(), &keys(t).rsa.PublicKey, "")
	n, stop := rp.CountDecryptAttempts()
	defer stop()
	if _, err := m.Verify(context.Background(), garbage); !isErr(err, rp.ErrEncryption) {
		t.Fatalf("Verify() error = %v, want ErrEncryption", err)
	}
	if got := n.Load(); got > 4 {
		t.Errorf("%d private-key operations for one token, want at most 4", got)
	}
}

// FuzzJoinJWE feeds any string to a joined Verifier whose OPs
// hold decryption keys: no panic, every error wraps a sentinel, and no
// token costs more than 4 private-key operations.
func FuzzJoinJWE(f *testing.F) {
	k := keys(f)
	m := twoTenants(f)
	forB := both(setClaim("iss", otherIssuer), setHeader("kid", "rsa-b"), func(tk *tok) { tk.key = k.rsa2 })
	f.Add(encrypt(f, mint(f, nil), jwa.RSA_OAEP_256(), &k.enc.PublicKey, ""))
	f.Add(encrypt(f, mint(f, forB), jwa.RSA_OAEP_256(), &k.enc2.PublicKey, "enc-b"))
	f.Add(encrypt(f, mint(f, forB), jwa.RSA_OAEP(), &k.enc.PublicKey, "enc-a"))
	f.Add("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d")
	f.Fuzz(func(t *testing.T, token string) {
		n, stop := rp.CountDecryptAttempts()
		defer stop()
		_, err := m.Verify(context.Background(), token)
		if err != nil && !isSentinel(err) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if got := n.Load(); got > 4 {
			t.Fatalf("%d private-key operations", got)
		}
	})
}
