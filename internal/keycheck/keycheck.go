// Package keycheck checks a private key read from a JWK against the public
// members beside it, for jwks (the RP's decryption keys) and fakeop (the
// fake OP's key files). JOSE libraries derive the private key from d alone
// and trust the rest, so a file whose d and x/y (or n) disagree would
// otherwise load and fail at the first token.
package keycheck

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
)

// MinRSABits is the floor for every RSA key of the project: RFC 7518 §3.3
// for RS*/PS* signatures, §4.2/§4.3 for RSA-OAEP.
const MinRSABits = 2048

// Private refuses priv when it is inconsistent with pub, its public half as
// the JWK states it: an RSA key under MinRSABits or failing Validate (it is
// precomputed when it passes), an EC or X25519 d that does not give x and
// y, an Ed25519 seed that does not give x. Other key types are refused.
func Private(priv, pub any) error {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if err := RSASize(p.N.BitLen()); err != nil {
			return err
		}
		if err := p.Validate(); err != nil {
			return err
		}
		p.Precompute()
	case *ecdsa.PrivateKey:
		d, err := p.Bytes()
		if err != nil {
			return err
		}
		derived, err := ecdsa.ParseRawPrivateKey(p.Curve, d)
		if err != nil {
			return err
		}
		if !derived.PublicKey.Equal(pub) {
			return errors.New("d does not match x and y")
		}
	case *ecdh.PrivateKey:
		if !p.PublicKey().Equal(pub) {
			return errors.New("d does not match x")
		}
	case ed25519.PrivateKey:
		if !ed25519.NewKeyFromSeed(p.Seed()).Public().(ed25519.PublicKey).Equal(pub) {
			return errors.New("d does not match x")
		}
	default:
		return fmt.Errorf("unsupported private key %T", priv)
	}
	return nil
}

// MaxRSABits is the largest RSA modulus accepted: a verification's cost
// grows with the square of the size and more (16,384 bits: about 8 ms, a
// 262,144-bit key: about 2 s), and every anonymous token naming such a key
// would cost that much. OPs publish 2048 to 4096 bits.
const MaxRSABits = 16384

// RSASize refuses an RSA modulus of fewer than MinRSABits or more than
// MaxRSABits bits.
func RSASize(bits int) error {
	if bits < MinRSABits {
		return fmt.Errorf("%d-bit RSA key, want %d or more", bits, MinRSABits)
	}
	if bits > MaxRSABits {
		return fmt.Errorf("%d-bit RSA key, want %d or fewer", bits, MaxRSABits)
	}
	return nil
}
