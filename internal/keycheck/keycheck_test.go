package keycheck_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/bclogout/bclogout/internal/keycheck"
)

func TestPrivate(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	x2, _ := ecdh.X25519().GenerateKey(rand.Reader)
	edPub, ed, _ := ed25519.GenerateKey(rand.Reader)
	edPub2, _, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		priv    any
		pub     any
		wantErr bool
	}{
		{name: "rsa", priv: rsaKey, pub: &rsaKey.PublicKey},
		{name: "rsa 1024", priv: small, pub: &small.PublicKey, wantErr: true},
		{name: "ec", priv: ec, pub: &ec.PublicKey},
		{name: "ec other point", priv: ec, pub: &ec2.PublicKey, wantErr: true},
		{name: "x25519", priv: x, pub: x.PublicKey()},
		{name: "x25519 other x", priv: x, pub: x2.PublicKey(), wantErr: true},
		{name: "ed25519", priv: ed, pub: edPub},
		{name: "ed25519 other x", priv: ed, pub: edPub2, wantErr: true},
		{name: "symmetric", priv: []byte("secret"), pub: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := keycheck.Private(tt.priv, tt.pub); (err != nil) != tt.wantErr {
				t.Fatalf("Private() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
