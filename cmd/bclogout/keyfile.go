package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
)

// Key files hold private JWKs (RFC 7517), so that "op --key-file" and
// "send --key" share one key. fakeop reads and writes them with jwx, and
// jwks.ParsePrivateSet reads the RP's decryption keys: the command itself
// never calls the JOSE library.

// loadPrivateSet reads the RP's decryption keys from the file at path: an
// unreadable file or a set jwks refuses is an error wrapping
// jwks.ErrInvalidJWKS that names the file.
func loadPrivateSet(path string) (*jwks.PrivateSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jwks.ErrInvalidJWKS, err)
	}
	set, err := jwks.ParsePrivateSet(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return set, nil
}

// loadOrCreateSigningKey reads the signing key in path, or generates one
// for alg, writes it there (mode 0600) and reports created.
func loadOrCreateSigningKey(path, alg, kid string) (k *opkit.Key, created bool, err error) {
	k, err = loadSigningKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	k, err = opkit.GenerateKey(alg, kid)
	if err != nil {
		return nil, false, err
	}
	if err := writeSigningKey(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// loadSigningKey reads a private JWK, or the first key of a JWK set; a key
// without alg gets its type's usual one (RS256, ES256/384/512, EdDSA).
func loadSigningKey(path string) (*opkit.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	k, err := opkit.ParsePrivateJWK(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// writeSigningKey writes k as a private JWK set; it never overwrites a file.
func writeSigningKey(path string, k *opkit.Key) error {
	jwk := k.PrivateJWK()
	if jwk["kty"] == "unknown" {
		return fmt.Errorf("key file: cannot write a %T key", k.Signer)
	}
	b, err := json.MarshalIndent(map[string]any{"keys": []any{jwk}}, "", "  ")
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

// loadEncryptionKey reads the RP's key that send encrypts to: an RSA key,
// public or private, or a private P-256 key for ECDH-ES (fakeop has no
// public-only ECDH form).
func loadEncryptionKey(path string) (*opkit.EncryptionKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	ek, err := opkit.ParseEncryptionJWK(b)
	if err != nil {
		return nil, fmt.Errorf("encryption key %s: %w", path, err)
	}
	return ek, nil
}
