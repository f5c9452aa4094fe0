package fakeop

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
)

var signingAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// TestPrivateJWKRoundTrip writes every kind of key as a JWK, alone and in
// a set, reads it back and checks that a token it signs verifies with the
// original public key.
func TestPrivateJWKRoundTrip(t *testing.T) {
	for _, alg := range signingAlgs {
		t.Run(alg, func(t *testing.T) {
			orig, err := GenerateKey(alg, "kid-"+alg)
			if err != nil {
				t.Fatal(err)
			}
			jwk := orig.PrivateJWK()
			if jwk["use"] != "sig" || jwk["alg"] != alg || jwk["kid"] != "kid-"+alg || jwk["d"] == nil {
				t.Fatalf("PrivateJWK = %v", jwk)
			}
			single, err := json.Marshal(jwk)
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string][]byte{"jwk": single, "set": JWKS(jwk)} {
				got, err := ParsePrivateJWK(data)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got.ID != orig.ID || got.Alg != orig.Alg {
					t.Errorf("%s: kid %q alg %q, want %q %q", name, got.ID, got.Alg, orig.ID, orig.Alg)
				}
				tok, err := NewLogoutToken("https://op.example", "rp", testNow).Sign(got)
				if err != nil {
					t.Fatal(err)
				}
				_, _, input, sig := decodeJWS(t, tok)
				if !verifyStd(alg, orig.Signer.Public(), input, sig) {
					t.Errorf("%s: signature of the parsed key does not verify with the original public key", name)
				}
			}
		})
	}
}

// stdJWK builds a private JWK from a standard library key with the member
// names of RFC 7518 §6 and RFC 8037 §2, as JOSE libraries (jwx among
// them) wrote key files before PrivateJWK existed.
func stdJWK(t *testing.T, priv any) map[string]any {
	t.Helper()
	enc := func(b []byte) string { return b64(b) }
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		p.Precompute()
		return map[string]any{
			"kty": "RSA", "n": enc(p.N.Bytes()), "e": enc(big.NewInt(int64(p.E)).Bytes()),
			"d": enc(p.D.Bytes()), "p": enc(p.Primes[0].Bytes()), "q": enc(p.Primes[1].Bytes()),
			"dp": enc(p.Precomputed.Dp.Bytes()), "dq": enc(p.Precomputed.Dq.Bytes()), "qi": enc(p.Precomputed.Qinv.Bytes()),
		}
	case *ecdsa.PrivateKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		x, y, d := make([]byte, size), make([]byte, size), make([]byte, size)
		pt, err := p.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		copy(x, pt[1:1+size])
		copy(y, pt[1+size:])
		raw, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		copy(d, raw)
		return map[string]any{"kty": "EC", "crv": p.Curve.Params().Name, "x": enc(x), "y": enc(y), "d": enc(d)}
	case ed25519.PrivateKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(p.Public().(ed25519.PublicKey)), "d": enc(p.Seed())}
	}
	t.Fatalf("no JWK for %T", priv)
	return nil
}

// TestParsePrivateJWKStandardFile loads key files as the command wrote
// them before (an indented JWK set with standard members) and lone JWKs
// without alg, which take the key type's default.
func TestParsePrivateJWKStandardFile(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		priv    any
		alg     string // written to the file; "" leaves it out
		wantAlg string
	}{
		{name: "rsa with alg", priv: rsaKey, alg: "PS384", wantAlg: "PS384"},
		{name: "rsa default", priv: rsaKey, wantAlg: "RS256"},
		{name: "p-256 default", priv: ec256, wantAlg: "ES256"},
		{name: "p-384 default", priv: ec384, wantAlg: "ES384"},
		{name: "p-521 default", priv: ec521, wantAlg: "ES512"},
		{name: "p-521 with alg", priv: ec521, alg: "ES512", wantAlg: "ES512"},
		{name: "ed25519 default", priv: ed, wantAlg: "EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := stdJWK(t, tt.priv)
			m["kid"] = "bclogout-cli"
			m["use"] = "sig"
			if tt.alg != "" {
				m["alg"] = tt.alg
			}
			setFile, err := json.MarshalIndent(map[string]any{"keys": []any{m}}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			delete(m, "use")
			lone, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, data := range [][]byte{setFile, lone} {
				k, err := ParsePrivateJWK(data)
				if err != nil {
					t.Fatalf("%v\n%s", err, data)
				}
				if k.Alg != tt.wantAlg || k.ID != "bclogout-cli" {
					t.Errorf("alg %q kid %q, want %q %q", k.Alg, k.ID, tt.wantAlg, "bclogout-cli")
				}
				if !k.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(publicOf(tt.priv)) {
					t.Error("parsed key has another public key")
				}
			}
		})
	}
}

func publicOf(priv any) crypto.PublicKey {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		return &p.PublicKey
	case *ecdsa.PrivateKey:
		return &p.PublicKey
	case ed25519.PrivateKey:
		return p.Public()
	}
	return nil
}

func TestParsePrivateJWKErrors(t *testing.T) {
	rsaKey, err := GenerateKey("RS256", "r")
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := GenerateKey("ES256", "e")
	otherEC, _ := GenerateKey("ES256", "o")
	edKey, _ := GenerateKey("EdDSA", "ed")
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	with := func(k *Key, change func(m map[string]any)) []byte {
		m := k.PrivateJWK()
		change(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rsaStr := func(name string) string { return rsaKey.PrivateJWK()[name].(string) }
	bumped := func(s string) string { // the same length, another value
		b, _ := decodeB64URL(s)
		b[len(b)-1] ^= 2
		return b64(b)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{name: "not json", data: []byte(`{"kty":`), wantErr: ErrInvalidJWK},
		{name: "json array", data: []byte(`[` + string(with(ecKey, func(map[string]any) {})) + `]`), wantErr: ErrInvalidJWK},
		{name: "json null", data: []byte(`null`), wantErr: ErrInvalidJWK},
		{name: "empty set", data: []byte(`{"keys":[]}`), wantErr: ErrInvalidJWK},
		{name: "keys not an array", data: []byte(`{"keys":{}}`), wantErr: ErrInvalidJWK},
		{name: "set entry not an object", data: []byte(`{"keys":["x"]}`), wantErr: ErrInvalidJWK},
		{name: "wrong kty", data: []byte(`{"kty":"oct","k":"c2VjcmV0"}`), wantErr: ErrInvalidJWK},
		{name: "kty missing", data: with(ecKey, func(m map[string]any) { delete(m, "kty") }), wantErr: ErrInvalidJWK},
		{name: "kid not a string", data: with(ecKey, func(m map[string]any) { m["kid"] = 7 }), wantErr: ErrInvalidJWK},
		{name: "use enc", data: with(ecKey, func(m map[string]any) { m["use"] = "enc" }), wantErr: ErrInvalidJWK},
		{name: "public only", data: with(ecKey, func(m map[string]any) { delete(m, "d") }), wantErr: ErrInvalidJWK},
		{name: "padded base64", data: with(ecKey, func(m map[string]any) { m["d"] = m["d"].(string) + "=" }), wantErr: ErrInvalidJWK},
		{name: "standard base64 alphabet", data: with(edKey, func(m map[string]any) { m["x"] = "+/" + m["x"].(string)[2:] }), wantErr: ErrInvalidJWK},
		{name: "newline in base64", data: with(edKey, func(m map[string]any) { s := m["d"].(string); m["d"] = s[:10] + "\n" + s[10:] }), wantErr: ErrInvalidJWK},
		{name: "non-zero trailing bits", data: with(edKey, func(m map[string]any) { s := m["d"].(string); m["d"] = s[:len(s)-1] + "B" }), wantErr: ErrInvalidJWK},
		{name: "empty member", data: with(ecKey, func(m map[string]any) { m["d"] = "" }), wantErr: ErrInvalidJWK},
		{name: "ec d of another key", data: with(ecKey, func(m map[string]any) { m["d"] = otherEC.PrivateJWK()["d"] }), wantErr: ErrInvalidJWK},
		{name: "ec point off the curve", data: with(ecKey, func(m map[string]any) { m["y"] = bumped(m["y"].(string)) }), wantErr: ErrInvalidJWK},
		{name: "ec short x", data: with(ecKey, func(m map[string]any) { m["x"] = m["x"].(string)[4:] }), wantErr: ErrInvalidJWK},
		{name: "ec unknown curve", data: with(ecKey, func(m map[string]any) { m["crv"] = "secp256k1" }), wantErr: ErrInvalidJWK},
		{name: "alg for another curve", data: with(ecKey, func(m map[string]any) { m["alg"] = "ES384" }), wantErr: ErrKeyMismatch},
		{name: "alg for another kty", data: with(rsaKey, func(m map[string]any) { m["alg"] = "EdDSA" }), wantErr: ErrKeyMismatch},
		{name: "rsa fails validate", data: with(rsaKey, func(m map[string]any) { m["d"] = bumped(rsaStr("d")) }), wantErr: ErrInvalidJWK},
		{name: "rsa wrong crt value", data: with(rsaKey, func(m map[string]any) { m["qi"] = bumped(rsaStr("qi")) }), wantErr: ErrInvalidJWK},
		{name: "rsa partial crt", data: with(rsaKey, func(m map[string]any) { delete(m, "dq") }), wantErr: ErrInvalidJWK},
		{name: "rsa without primes", data: with(rsaKey, func(m map[string]any) {
			delete(m, "p")
			delete(m, "q")
			delete(m, "dp")
			delete(m, "dq")
			delete(m, "qi")
		}), wantErr: ErrInvalidJWK},
		{name: "rsa multi-prime", data: with(rsaKey, func(m map[string]any) { m["oth"] = []any{} }), wantErr: ErrInvalidJWK},
		{name: "rsa leading zero", data: with(rsaKey, func(m map[string]any) { m["e"] = "AAEAAQ" }), wantErr: ErrInvalidJWK},
		{name: "rsa even exponent", data: with(rsaKey, func(m map[string]any) { m["e"] = "AQAC" }), wantErr: ErrInvalidJWK},
		{name: "rsa 1024 bits", data: with(&Key{Alg: "RS256", Signer: small}, func(map[string]any) {}), wantErr: ErrInvalidJWK},
		{name: "ed25519 truncated seed", data: with(edKey, func(m map[string]any) { m["d"] = m["d"].(string)[:40] }), wantErr: ErrInvalidJWK},
		{name: "ed25519 seed of another key", data: with(edKey, func(m map[string]any) { m["d"] = bumped(m["d"].(string)) }), wantErr: ErrInvalidJWK},
		{name: "x25519", data: with(edKey, func(m map[string]any) { m["crv"] = "X25519" }), wantErr: ErrInvalidJWK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePrivateJWK(tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v\n%s", err, tt.wantErr, tt.data)
			}
			if k != nil {
				t.Error("a key came back with the error")
			}
			t.Log(err)
			if err != nil && !strings.HasPrefix(err.Error(), "fakeop: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestParseEncryptionJWK reads what EncryptionKey.PrivateJWKS and
// PublicJWK write, and what the command reads with --encrypt-to.
func TestParseEncryptionJWK(t *testing.T) {
	for _, alg := range []string{"RSA-OAEP-256", "RSA-OAEP", "ECDH-ES"} {
		t.Run(alg, func(t *testing.T) {
			orig, err := GenerateEncryptionKeyAlg(alg, "A256GCM", "enc-"+alg)
			if err != nil {
				t.Fatal(err)
			}
			sources := map[string][]byte{"private set": orig.PrivateJWKS()}
			if alg != "ECDH-ES" {
				pub, _ := json.Marshal(orig.PublicJWK())
				sources["public jwk"] = pub
			}
			for name, data := range sources {
				got, err := ParseEncryptionJWK(data)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got.ID != orig.ID || got.Alg != orig.Alg || got.Enc != "A256GCM" {
					t.Errorf("%s: kid %q alg %q enc %q", name, got.ID, got.Alg, got.Enc)
				}
				if !sameEncryptionPublic(got.Private, orig.Private) {
					t.Errorf("%s: another public key", name)
				}
				if name == "private set" && string(got.PrivateJWKS()) != string(orig.PrivateJWKS()) {
					t.Errorf("%s: PrivateJWKS differs after the round trip", name)
				}
				if _, err := Encrypt("a.b.c", got); err != nil {
					t.Errorf("%s: Encrypt: %v", name, err)
				}
			}
		})
	}
}

func sameEncryptionPublic(a, b any) bool {
	switch a := a.(type) {
	case *rsa.PrivateKey:
		b, ok := b.(*rsa.PrivateKey)
		return ok && a.PublicKey.Equal(&b.PublicKey)
	case *ecdh.PrivateKey:
		b, ok := b.(*ecdh.PrivateKey)
		return ok && a.Equal(b)
	}
	return false
}

func TestParseEncryptionJWKErrors(t *testing.T) {
	rsaEnc, err := GenerateEncryptionKey("r")
	if err != nil {
		t.Fatal(err)
	}
	ecEnc, _ := GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "e")
	p384, _ := GenerateKey("ES384", "s")
	edKey, _ := GenerateKey("EdDSA", "ed")
	first := func(set []byte, change func(m map[string]any)) []byte {
		var s struct{ Keys []map[string]any }
		if err := json.Unmarshal(set, &s); err != nil {
			t.Fatal(err)
		}
		change(s.Keys[0])
		b, _ := json.Marshal(s.Keys[0])
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{name: "ec public only", data: first(ecEnc.PrivateJWKS(), func(m map[string]any) { delete(m, "d") }), wantErr: ErrInvalidJWK},
		{name: "ec p-384", data: first(JWKS(p384.PrivateJWK()), func(m map[string]any) { delete(m, "alg"); delete(m, "use") }), wantErr: ErrInvalidJWK},
		{name: "ec signing alg", data: first(ecEnc.PrivateJWKS(), func(m map[string]any) { m["alg"] = "ES256" }), wantErr: ErrInvalidJWK},
		{name: "rsa signing alg", data: first(rsaEnc.PrivateJWKS(), func(m map[string]any) { m["alg"] = "RS256" }), wantErr: ErrInvalidJWK},
		{name: "use sig", data: first(rsaEnc.PrivateJWKS(), func(m map[string]any) { m["use"] = "sig" }), wantErr: ErrInvalidJWK},
		{name: "rsa half private", data: first(rsaEnc.PrivateJWKS(), func(m map[string]any) { delete(m, "d") }), wantErr: ErrInvalidJWK},
		{name: "okp", data: first(JWKS(edKey.PrivateJWK()), func(m map[string]any) { delete(m, "alg"); delete(m, "use") }), wantErr: ErrInvalidJWK},
		{name: "empty set", data: []byte(`{"keys":[]}`), wantErr: ErrInvalidJWK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseEncryptionJWK(tt.data); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v\n%s", err, tt.wantErr, tt.data)
			}
		})
	}
}

// FuzzParsePrivateJWK checks that neither parser panics, and that any key
// accepted survives a PrivateJWK round trip.
func FuzzParsePrivateJWK(f *testing.F) {
	for _, alg := range []string{"RS256", "ES256", "ES512", "EdDSA"} {
		if k, err := GenerateKey(alg, "seed"); err == nil {
			f.Add(JWKS(k.PrivateJWK()))
		}
	}
	if ek, err := GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "enc"); err == nil {
		f.Add(ek.PrivateJWKS())
	}
	for _, s := range []string{``, `{}`, `[]`, `null`, `{"keys":[]}`, `{"keys":[null]}`, `{"kty":"EC","crv":"P-256","x":"","y":"","d":""}`,
		`{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"}`, `{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB","p":"Aw","q":"Aw"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if ek, err := ParseEncryptionJWK(data); err == nil && ek.Private == nil {
			t.Fatal("encryption key without key material")
		}
		k, err := ParsePrivateJWK(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidJWK) {
				t.Fatalf("error outside ErrInvalidJWK: %v", err)
			}
			return
		}
		again, err := ParsePrivateJWK(JWKS(k.PrivateJWK()))
		if err != nil {
			t.Fatalf("accepted key does not round-trip: %v", err)
		}
		if again.Alg != k.Alg || again.ID != k.ID {
			t.Fatalf("round trip changed alg/kid: %q/%q -> %q/%q", k.Alg, k.ID, again.Alg, again.ID)
		}
	})
}
