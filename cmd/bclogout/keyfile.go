package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bclogout/bclogout/fakeop"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Key files hold private JWKs (RFC 7517), so that "op --key-file" and
// "send --key" share one key. fakeop builds its JOSE by hand and has no JWK
// parser for private keys; the command uses jwx for this file format only.

// loadOrCreateSigningKey reads the signing key in path, or generates one
// for alg, writes it there (mode 0600) and reports created.
func loadOrCreateSigningKey(path, alg, kid string) (k *fakeop.Key, created bool, err error) {
	k, err = loadSigningKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	k, err = fakeop.GenerateKey(alg, kid)
	if err != nil {
		return nil, false, err
	}
	if err := writeSigningKey(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// loadSigningKey reads a private JWK, or the first key of a JWK set.
func loadSigningKey(path string) (*fakeop.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	key, err := parseFirstKey(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	signer, ok := raw.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key file %s: not a private signing key (RSA, EC or Ed25519)", path)
	}
	kid, _ := key.KeyID()
	alg := ""
	if a, ok := key.Algorithm(); ok {
		alg = a.String()
	} else if alg, ok = defaultAlg(signer); !ok {
		return nil, fmt.Errorf("key file %s: cannot tell the key's algorithm; add an alg member", path)
	}
	return &fakeop.Key{ID: kid, Alg: alg, Signer: signer}, nil
}

// parseFirstKey accepts a JWK or a JWK set.
func parseFirstKey(b []byte) (jwk.Key, error) {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if probe.Keys == nil {
		return jwk.ParseKey(b)
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return nil, err
	}
	k, ok := set.Key(0)
	if !ok {
		return nil, errors.New("empty JWK set")
	}
	return k, nil
}

func defaultAlg(s crypto.Signer) (string, bool) {
	switch p := s.(type) {
	case *rsa.PrivateKey:
		return "RS256", true
	case *ecdsa.PrivateKey:
		switch p.Curve.Params().BitSize {
		case 256:
			return "ES256", true
		case 384:
			return "ES384", true
		case 521:
			return "ES512", true
		}
	case ed25519.PrivateKey:
		return "EdDSA", true
	}
	return "", false
}

// writeSigningKey writes k as a private JWK set; it never overwrites a file.
func writeSigningKey(path string, k *fakeop.Key) error {
	key, err := jwk.Import(k.Signer)
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: k.ID, jwk.AlgorithmKey: k.Alg, jwk.KeyUsageKey: "sig"} {
		if v == "" {
			continue
		}
		if err := key.Set(name, v); err != nil {
			return fmt.Errorf("key file: %w", err)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"keys": []jwk.Key{key}}, "", "  ")
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("key file: %w", err)
	}
	return f.Close()
}

// loadJWKSet reads a JWK or JWK set file as a set: the RP's private keys
// for decryption.
func loadJWKSet(path string) (jwk.Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("key file %s: not JSON: %w", path, err)
	}
	if probe.Keys != nil {
		set, err := jwk.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return set, nil
	}
	k, err := jwk.ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return set, nil
}

// loadEncryptionKey reads the RP's key that send encrypts to. fakeop
// encrypts with the public half of EncryptionKey.Private, so a public RSA
// key is wrapped in an rsa.PrivateKey without private parts; ECDH-ES needs
// the RP's private JWK (fakeop has no public-only ECDH form).
func loadEncryptionKey(path string) (*fakeop.EncryptionKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	key, err := parseFirstKey(b)
	if err != nil {
		return nil, fmt.Errorf("encryption key %s: %w", path, err)
	}
	kid, _ := key.KeyID()
	alg := ""
	if a, ok := key.Algorithm(); ok {
		alg = a.String()
	}
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, fmt.Errorf("encryption key %s: %w", path, err)
	}
	ek := &fakeop.EncryptionKey{ID: kid, Alg: alg, Enc: "A256GCM"}
	switch p := raw.(type) {
	case *rsa.PrivateKey:
		ek.Private = p
	case *rsa.PublicKey:
		ek.Private = &rsa.PrivateKey{PublicKey: *p}
	case *ecdsa.PrivateKey:
		ek.Private, err = p.ECDH()
		if err != nil {
			return nil, fmt.Errorf("encryption key %s: %w", path, err)
		}
		if alg == "" {
			ek.Alg = "ECDH-ES"
		}
	default:
		return nil, fmt.Errorf("encryption key %s: need an RSA key (public or private) or a private P-256 key", path)
	}
	if ek.Alg == "" {
		ek.Alg = "RSA-OAEP-256"
	}
	return ek, nil
}
