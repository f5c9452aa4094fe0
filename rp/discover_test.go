package rp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
)

func TestDiscover(t *testing.T) {
	op := opkit.New(t)
	ctx := context.Background()
	v, err := rp.Discover(ctx, op.Issuer(), "client-d", rp.WithJWKSOptions(jwks.WithHTTPClient(http.DefaultClient)), rp.WithClock(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
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
	if _, err := v.Verify(ctx, op.LogoutToken("other-client", "user-1", "sid-3")); !isErr(err, rp.ErrAudience) {
		t.Fatalf("Verify() for another client = %v, want ErrAudience", err)
	}
}

func TestDiscoverErrors(t *testing.T) {
	op := opkit.New(t)
	tests := []struct {
		name   string
		issuer string
		opts   []rp.Option
	}{
		{name: "issuer mismatch", issuer: op.Issuer() + "/other"},
		{name: "alg none", issuer: op.Issuer(), opts: []rp.Option{rp.WithAlgorithms("none")}},
		{name: "bad jwks option", issuer: op.Issuer(), opts: []rp.Option{rp.WithJWKSOptions(jwks.WithHTTPClient(nil))}},
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

func TestDiscoverFailsWhenKeysCannotBeFetched(t *testing.T) {
	op := opkit.New(t)
	op.SetJWKSFailure(http.StatusInternalServerError)
	v, err := rp.Discover(context.Background(), op.Issuer(), "client-d")
	if !isErr(err, jwks.ErrFetch) {
		if err == nil {
			v.Close()
		}
		t.Fatalf("Discover() = %v, want jwks.ErrFetch", err)
	}
}

func TestDiscoverAlgorithms(t *testing.T) {
	op := opkit.New(t, opkit.WithAlg("ES256"))
	v, err := rp.Discover(context.Background(), op.Issuer(), "client-d")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(context.Background(), op.LogoutToken("client-d", "u", "s")); err != nil {
		t.Fatalf("ES256 from discovery: %v", err)
	}
}

// An OP that advertises every algorithm (as the OpenID conformance suite
// does) still signs an unregistered client's tokens with RS256, so a token
// signed by the OP's genuine ES256 key is the suite's "wrong alg" case.
func TestDiscoverAdvertisedListIsNotTheClientsAlgorithm(t *testing.T) {
	rsKey, err := opkit.GenerateKey("RS256", "rs")
	if err != nil {
		t.Fatal(err)
	}
	esKey, err := opkit.GenerateKey("ES256", "es")
	if err != nil {
		t.Fatal(err)
	}
	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"id_token_signing_alg_values_supported":["none","RS256","ES256","PS256","HS256","EdDSA"]}`,
			issuer, issuer+"/jwks")
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(opkit.JWKS(rsKey.PublicJWK(), esKey.PublicJWK()))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	issuer = srv.URL

	mint := func(t *testing.T, k *opkit.Key) string {
		t.Helper()
		tok, err := opkit.NewLogoutToken(issuer, "client-d", time.Now()).Sign(k)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name    string
		opts    []rp.Option
		key     *opkit.Key
		wantErr error
	}{
		{name: "default RS256 accepted", key: rsKey},
		{name: "default ES256 rejected", key: esKey, wantErr: errAlgorithm},
		{name: "registered ES256 accepted", opts: []rp.Option{rp.WithAlgorithms("ES256")}, key: esKey},
		{name: "registered ES256, RS256 rejected", opts: []rp.Option{rp.WithAlgorithms("ES256")}, key: rsKey, wantErr: errAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := rp.Discover(context.Background(), issuer, "client-d", tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			_, err = v.Verify(context.Background(), mint(t, tt.key))
			if !isErr(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Verify() = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
