package rp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"testing"

	"github.com/bclogout/bclogout/rp"
	"github.com/lestrrat-go/jwx/v4/jwa"
)

// TestMultiVerifierBoundsDecryption: a kid-less JWE that no tenant's key
// opens costs at most maxDecryptAttempts (4) private-key operations for the
// whole request, however many tenants are configured (issue 8, item 5:
// 16 tenants used to cost up to 64).
func TestMultiVerifierBoundsDecryption(t *testing.T) {
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
	m, err := rp.NewMultiVerifier(vs...)
	if err != nil {
		t.Fatal(err)
	}
	garbage := encrypt(t, mint(t, nil), jwa.RSA_OAEP_256(), &keys(t).rsa.PublicKey, "")
	n, stop := rp.CountDecryptAttempts()
	defer stop()
	if _, err := m.Verify(context.Background(), garbage); !errors.Is(err, rp.ErrEncryption) {
		t.Fatalf("Verify() error = %v, want ErrEncryption", err)
	}
	if got := n.Load(); got > 4 {
		t.Errorf("%d private-key operations for one token, want at most 4", got)
	}
}
