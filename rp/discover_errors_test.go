package rp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
)

// Discover's errors read once: each layer adds its own prefix a single
// time ("rp: discover ISSUER: jwks: fetch URL: cause"), where they read
// "rp: discovery: jwks: discovery failed: jwks: fetch failed: ...", and
// every sentinel stays errors.Is-able.
func TestDiscoverErrorsReadOnce(t *testing.T) {
	var issuer string
	tests := []struct {
		name    string
		doc     int // status of the discovery document
		jwks    int // status of the JWK Set
		opts    []rp.Option
		want    func() string
		wantErr error
	}{
		{name: "discovery document", doc: http.StatusServiceUnavailable, jwks: http.StatusOK,
			want: func() string {
				return fmt.Sprintf("rp: discover %s: jwks: fetch %[1]s/.well-known/openid-configuration: status 503", issuer)
			}, wantErr: jwks.ErrFetch},
		{name: "key set", doc: http.StatusOK, jwks: http.StatusInternalServerError,
			want:    func() string { return fmt.Sprintf("rp: discover %s: jwks: fetch %[1]s/jwks: status 500", issuer) },
			wantErr: jwks.ErrFetch},
		{name: "option", doc: http.StatusOK, jwks: http.StatusOK, opts: []rp.Option{rp.WithJWKSOptions(jwks.WithHTTPClient(nil))},
			want: func() string {
				return fmt.Sprintf("rp: discover %s: jwks: invalid configuration: nil http client", issuer)
			}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/.well-known/openid-configuration":
					w.WriteHeader(tt.doc)
					fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":"%[1]s/jwks"}`, issuer)
				default:
					w.WriteHeader(tt.jwks)
					fmt.Fprint(w, `{"keys":[]}`)
				}
			}))
			defer srv.Close()
			issuer = srv.URL
			v, err := rp.Discover(context.Background(), issuer, "client", tt.opts...)
			if err == nil {
				v.Close()
				t.Fatal("Discover succeeded")
			}
			if got, want := err.Error(), tt.want(); got != want {
				t.Errorf("err = %q\nwant  %q", got, want)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantErr)
			}
			for _, word := range []string{"rp: ", "jwks: fetch", "invalid configuration", "failed"} {
				if n := strings.Count(err.Error(), word); n > 1 {
					t.Errorf("%q appears %d times in %q", word, n, err)
				}
			}
		})
	}
}
