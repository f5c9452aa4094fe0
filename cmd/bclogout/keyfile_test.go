package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
)

// TestNoJOSEImports holds the project rule that only rp and jwks call the
// JOSE library, so that its next major version touches few files.
func TestNoJOSEImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found")
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.Contains(path, "/jwx") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}

// legacyKeyFile writes priv as the command wrote key files when it used
// jwx: an indented JWK set, standard RFC 7517/7518/8037 member names,
// kid "bclogout-cli", alg and use "sig".
func legacyKeyFile(t *testing.T, priv crypto.Signer, alg string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	var m map[string]any
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		p.Precompute()
		m = map[string]any{
			"kty": "RSA", "n": enc(p.N.Bytes()), "e": enc(big.NewInt(int64(p.E)).Bytes()),
			"d": enc(p.D.Bytes()), "p": enc(p.Primes[0].Bytes()), "q": enc(p.Primes[1].Bytes()),
			"dp": enc(p.Precomputed.Dp.Bytes()), "dq": enc(p.Precomputed.Dq.Bytes()), "qi": enc(p.Precomputed.Qinv.Bytes()),
		}
	case *ecdsa.PrivateKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		pt, err := p.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		m = map[string]any{"kty": "EC", "crv": p.Curve.Params().Name, "x": enc(pt[1 : 1+size]), "y": enc(pt[1+size:]), "d": enc(d)}
	case ed25519.PrivateKey:
		m = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(p.Public().(ed25519.PublicKey)), "d": enc(p.Seed())}
	default:
		t.Fatalf("no JWK for %T", priv)
	}
	m["kid"], m["use"] = cliKeyID, "sig"
	if alg != "" {
		m["alg"] = alg
	}
	b, err := json.MarshalIndent(map[string]any{"keys": []any{m}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "legacy-key.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLegacyKeyFilesLoad(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name string
		priv crypto.Signer
		alg  string
		want string
	}{
		{name: "rsa ps256", priv: rsaKey, alg: "PS256", want: "PS256"},
		{name: "rsa without alg", priv: rsaKey, want: "RS256"},
		{name: "p-256", priv: p256, alg: "ES256", want: "ES256"},
		{name: "p-521 without alg", priv: p521, want: "ES512"},
		{name: "ed25519", priv: ed, alg: "EdDSA", want: "EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := legacyKeyFile(t, tt.priv, tt.alg)
			k, created, err := loadOrCreateSigningKey(path, "RS256", cliKeyID)
			if err != nil {
				t.Fatal(err)
			}
			if created || k.Alg != tt.want || k.ID != cliKeyID {
				t.Fatalf("created %v alg %q kid %q, want false %q %q", created, k.Alg, k.ID, tt.want, cliKeyID)
			}
			if !k.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.priv.Public()) {
				t.Error("loaded another key")
			}
			if _, err := opkit.NewLogoutToken("https://op.example", "rp", time.Now()).Sign(k); err != nil {
				t.Errorf("cannot sign: %v", err)
			}
		})
	}
}

func TestKeyFileCreatedThenReused(t *testing.T) {
	for _, alg := range []string{"RS256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.json")
			k1, created, err := loadOrCreateSigningKey(path, alg, cliKeyID)
			if err != nil || !created {
				t.Fatalf("created %v, err %v", created, err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", info.Mode().Perm())
			}
			// An alg flag that differs is ignored: the file's key decides.
			k2, created, err := loadOrCreateSigningKey(path, "PS512", cliKeyID)
			if err != nil || created {
				t.Fatalf("created %v, err %v", created, err)
			}
			if k2.Alg != alg || k2.ID != cliKeyID || !k2.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k1.Signer.Public()) {
				t.Errorf("reloaded %q %q, another key or alg", k2.Alg, k2.ID)
			}
			if err := writeSigningKey(path, k1); !errors.Is(err, fs.ErrExist) {
				t.Errorf("overwrite: err = %v, want fs.ErrExist", err)
			}
		})
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ek, err := opkit.GenerateEncryptionKey("rp-enc")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{name: "not json", path: write("bad.json", "{"), wantErr: opkit.ErrInvalidJWK},
		{name: "empty set", path: write("empty.json", `{"keys":[]}`), wantErr: opkit.ErrInvalidJWK},
		{name: "public key", path: write("public.json", string(opkit.JWKS(ek.PublicJWK()))), wantErr: opkit.ErrInvalidJWK},
		{name: "encryption key", path: write("enc.json", string(ek.PrivateJWKS())), wantErr: opkit.ErrInvalidJWK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A broken file is reported, never replaced by a new key.
			_, created, err := loadOrCreateSigningKey(tt.path, "RS256", cliKeyID)
			if !errors.Is(err, tt.wantErr) || created {
				t.Fatalf("created %v, err = %v, want %v", created, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestEncryptionKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rsaEnc, err := opkit.GenerateEncryptionKey("rp-rsa")
	if err != nil {
		t.Fatal(err)
	}
	ecEnc, err := opkit.GenerateEncryptionKeyAlg("ECDH-ES", "A256GCM", "rp-ec")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantAlg string
		wantErr error
	}{
		{name: "rsa private set", path: write("rsa.json", rsaEnc.PrivateJWKS()), wantAlg: "RSA-OAEP-256"},
		{name: "rsa public set", path: write("rsa-pub.json", opkit.JWKS(rsaEnc.PublicJWK())), wantAlg: "RSA-OAEP-256"},
		{name: "ec private set", path: write("ec.json", ecEnc.PrivateJWKS()), wantAlg: "ECDH-ES"},
		{name: "ec public set", path: write("ec-pub.json", opkit.JWKS(ecEnc.PublicJWK())), wantErr: opkit.ErrInvalidJWK},
		{name: "missing", path: filepath.Join(dir, "nope.json"), wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ek, err := loadEncryptionKey(tt.path)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if ek.Alg != tt.wantAlg || ek.Enc != "A256GCM" {
				t.Errorf("alg %q enc %q, want %q A256GCM", ek.Alg, ek.Enc, tt.wantAlg)
			}
			if _, err := opkit.Encrypt("a.b.c", ek); err != nil {
				t.Errorf("Encrypt: %v", err)
			}
		})
	}
	// The RP side reads the same private file as its decryption keys.
	if _, err := loadPrivateSet(filepath.Join(dir, "ec.json")); err != nil {
		t.Errorf("decryption keys: %v", err)
	}
}
