package rp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/rp"
)

// benchToken mints a realistic token (Keycloak-like claims) for alg.
func benchToken(b *testing.B, alg string) (token string, v *rp.Verifier) {
	k := keys(b)
	var key any
	kid := map[string]string{"RS256": "rsa-1", "ES256": "ec-1", "EdDSA": "ed-1"}[alg]
	switch alg {
	case "RS256":
		key = k.rsa
	case "ES256":
		key = k.ec
	case "EdDSA":
		key = k.ed
	}
	token = mint(b, both(setHeader("alg", alg), setHeader("kid", kid), setClaim("typ", "Logout"), func(tk *tok) { tk.key = key }))
	v = newVerifier(b, nil, rp.WithAlgorithms(alg))
	if _, err := v.Verify(context.Background(), token); err != nil {
		b.Fatal(err)
	}
	return token, v
}

func benchVerify(b *testing.B, alg string) {
	token, v := benchToken(b, alg)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// signingParts splits a token into its signing input and raw signature.
func signingParts(b *testing.B, token string) (input, sig []byte) {
	i := strings.LastIndexByte(token, '.')
	s, err := b64dec(token[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	return []byte(token[:i]), s
}

func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, "RS256") }
func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, "ES256") }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, "EdDSA") }

// The baselines do only the raw crypto check of the same signing input
// (hash included), so Verify's overhead reads as a ratio in one run.

func BenchmarkBaselineRS256(b *testing.B) {
	token, _ := benchToken(b, "RS256")
	input, sig := signingParts(b, token)
	pub := &keys(b).rsa.PublicKey
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineES256(b *testing.B) {
	token, _ := benchToken(b, "ES256")
	input, sig := signingParts(b, token)
	pub := &keys(b).ec.PublicKey
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, h[:], r, s) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkBaselineEdDSA(b *testing.B) {
	token, _ := benchToken(b, "EdDSA")
	input, sig := signingParts(b, token)
	pub := keys(b).ed.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !ed25519.Verify(pub, input, sig) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkRejectMalformed measures the cheapest rejections: a token
// that is not base64url JSON never reaches a key or a signature check.
func BenchmarkRejectMalformed(b *testing.B) {
	_, v := benchToken(b, "RS256")
	valid := mint(b, nil)
	parts := strings.Split(valid, ".")
	bad := []string{
		"not-a-token",
		parts[0] + ".%%%." + parts[2],
		b64([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		b64([]byte(`{"alg":"RS256","kid":"rsa-1","jku":"https://evil"}`)) + "." + parts[1] + "." + parts[2],
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := v.Verify(ctx, bad[i%len(bad)]); err == nil {
			b.Fatal("accepted")
		}
		i++
	}
}

// BenchmarkInterleavedVerify reads Verify's ratio to the raw signature
// check of the same input, per algorithm, from alternating runs of the two
// (see interleaved).
func BenchmarkInterleavedVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			token, v := benchToken(b, alg)
			input, sig := signingParts(b, token)
			k := keys(b)
			var raw func()
			switch alg {
			case "RS256":
				raw = func() {
					h := sha256.Sum256(input)
					if err := rsa.VerifyPKCS1v15(&k.rsa.PublicKey, crypto.SHA256, h[:], sig); err != nil {
						b.Fatal(err)
					}
				}
			case "ES256":
				raw = func() {
					h := sha256.Sum256(input)
					r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
					if !ecdsa.Verify(&k.ec.PublicKey, h[:], r, s) {
						b.Fatal("invalid")
					}
				}
			case "EdDSA":
				pub := k.ed.Public().(ed25519.PublicKey)
				raw = func() {
					if !ed25519.Verify(pub, input, sig) {
						b.Fatal("invalid")
					}
				}
			}
			ctx := context.Background()
			rp.Interleaved(b, func() {
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}, raw, nil)
		})
	}
}
