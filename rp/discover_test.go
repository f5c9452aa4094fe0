package rp_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
)

func TestDiscover(t *testing.T) {
	op := fakeop.New(t)
	ctx := context.Background()
	v, err := rp.Discover(ctx, op.Issuer(), "client-d", rp.WithHTTPClient(http.DefaultClient), rp.WithClock(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Issuer() != op.Issuer() {
		t.Errorf("Issuer() = %q", v.Issuer())
	}
	if _, err := v.Verify(ctx, op.LogoutToken("client-d", "user-1", "sid-1")); err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	// A rotated key is found by its new kid through the remote key set.
	if _, err := op.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, op.LogoutToken("client-d", "user-1", "sid-2")); err != nil {
		t.Fatalf("Verify() after rotation = %v", err)
	}
	if _, err := v.Verify(ctx, op.LogoutToken("other-client", "user-1", "sid-3")); !errors.Is(err, rp.ErrAudience) {
		t.Fatalf("Verify() for another client = %v, want ErrAudience", err)
	}
}

func TestDiscoverErrors(t *testing.T) {
	op := fakeop.New(t)
	tests := []struct {
		name   string
		issuer string
		opts   []rp.Option
	}{
		{name: "issuer mismatch", issuer: op.Issuer() + "/other"},
		{name: "alg none", issuer: op.Issuer(), opts: []rp.Option{rp.WithAlgorithms("none")}},
		{name: "bad jwks option", issuer: op.Issuer(), opts: []rp.Option{rp.WithJWKSOptions(jwks.WithRefreshBounds(time.Hour, time.Second))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := rp.Discover(context.Background(), tt.issuer, "client-d", tt.opts...)
			if err == nil {
				v.Close()
				t.Fatal("Discover() succeeded")
			}
		})
	}
}

func TestDiscoverAlgorithms(t *testing.T) {
	op := fakeop.New(t, fakeop.WithAlg("ES256"))
	v, err := rp.Discover(context.Background(), op.Issuer(), "client-d")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(context.Background(), op.LogoutToken("client-d", "u", "s")); err != nil {
		t.Fatalf("ES256 from discovery: %v", err)
	}
}
