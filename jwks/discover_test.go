package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/jwks"
)

func TestDiscover(t *testing.T) {
	// doc renders a discovery document for issuer; %[1]s is the issuer.
	type answer struct {
		status int
		ctype  string
		body   string
	}
	const good = `{"issuer":%[1]q,"jwks_uri":"%[1]s/jwks","authorization_endpoint":"%[1]s/auth",
		"token_endpoint":"%[1]s/token","end_session_endpoint":"%[1]s/logout",
		"id_token_signing_alg_values_supported":["RS256","none","ES256","NONE"],
		"backchannel_logout_supported":true,"backchannel_logout_session_supported":true}`
	tests := []struct {
		name    string
		path    string // issuer path below the server's URL
		answer  func(issuer string) answer
		wantErr error
	}{
		{name: "ok", answer: func(iss string) answer { return answer{200, "application/json; charset=utf-8", fmt.Sprintf(good, iss)} }},
		{name: "issuer with path", path: "/realms/acme", answer: func(iss string) answer { return answer{200, "application/json", fmt.Sprintf(good, iss)} }},
		{name: "issuer with trailing slash", path: "/tenant/", answer: func(iss string) answer { return answer{200, "application/json", fmt.Sprintf(good, iss)} }},
		{name: "issuer mismatch", answer: func(iss string) answer { return answer{200, "application/json", fmt.Sprintf(good, iss+"/")} }, wantErr: jwks.ErrIssuerMismatch},
		{name: "issuer missing", answer: func(iss string) answer {
			return answer{200, "application/json", `{"jwks_uri":"https://op.example/jwks"}`}
		}, wantErr: jwks.ErrIssuerMismatch},
		{name: "missing jwks_uri", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q}`, iss)}
		}, wantErr: jwks.ErrDiscovery},
		{name: "insecure jwks_uri", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q,"jwks_uri":"http://op.example/jwks"}`, iss)}
		}, wantErr: jwks.ErrInsecureURL},
		{name: "non-200", answer: func(iss string) answer { return answer{404, "application/json", fmt.Sprintf(good, iss)} }, wantErr: jwks.ErrFetch},
		{name: "500", answer: func(iss string) answer { return answer{500, "text/plain", "oops"} }, wantErr: jwks.ErrFetch},
		{name: "html", answer: func(iss string) answer { return answer{200, "text/html", fmt.Sprintf(good, iss)} }, wantErr: jwks.ErrDiscovery},
		{name: "garbage", answer: func(iss string) answer { return answer{200, "application/json", `{"issuer":`} }, wantErr: jwks.ErrDiscovery},
		{name: "wrong types", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q,"jwks_uri":"%[1]s/jwks","backchannel_logout_supported":"yes"}`, iss)}
		}, wantErr: jwks.ErrDiscovery},
		{name: "oversize body", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q,"jwks_uri":"%[1]s/jwks","pad":"%s"}`, iss, strings.Repeat("x", 1<<20))}
		}, wantErr: jwks.ErrFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var issuer, gotPath string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath = r.URL.Path
				a := tt.answer(issuer)
				w.Header().Set("Content-Type", a.ctype)
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(a.body))
			}))
			defer srv.Close()
			issuer = srv.URL + tt.path

			md, err := jwks.Discover(context.Background(), issuer)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, jwks.ErrDiscovery) {
					t.Errorf("err = %v does not wrap ErrDiscovery", err)
				}
				return
			}
			if want := strings.TrimSuffix(tt.path, "/") + "/.well-known/openid-configuration"; gotPath != want {
				t.Errorf("fetched %q, want %q", gotPath, want)
			}
			want := jwks.Metadata{
				Issuer: issuer, JWKSURI: issuer + "/jwks", AuthorizationEndpoint: issuer + "/auth",
				TokenEndpoint: issuer + "/token", EndSessionEndpoint: issuer + "/logout",
				BackchannelLogoutSupported: true, BackchannelLogoutSessionSupported: true,
			}
			gotAlgs := md.IDTokenSigningAlgValuesSupported
			md.IDTokenSigningAlgValuesSupported = nil
			if !reflect.DeepEqual(*md, want) {
				t.Errorf("metadata = %+v, want %+v", *md, want)
			}
			if !slices.Equal(gotAlgs, []string{"RS256", "ES256"}) {
				t.Errorf("algs = %v, want none dropped", gotAlgs)
			}
		})
	}
}

// Discover takes only the options it uses: those of a refreshing key set
// are RemoteOptions, which jwks.Discover(ctx, issuer, jwks.WithClock(now))
// does not compile with; every Option is a RemoteOption too.
var _ jwks.RemoteOption = jwks.WithLogger(nil)

func TestDiscoverInsecureIssuer(t *testing.T) {
	tests := []struct {
		name    string
		issuer  string
		opts    []jwks.Option
		wantErr error
	}{
		{name: "http non-loopback", issuer: "http://op.example", wantErr: jwks.ErrInsecureURL},
		{name: "localhost lookalike", issuer: "http://localhost.evil.com", wantErr: jwks.ErrInsecureURL},
		{name: "not a url", issuer: "op.example", wantErr: jwks.ErrInsecureURL},
		{name: "empty", issuer: "", wantErr: jwks.ErrInsecureURL},
		{name: "bad option", issuer: "https://op.example", opts: []jwks.Option{jwks.WithHTTPClient(nil)}, wantErr: jwks.ErrInvalidConfig},
		{name: "nil option", issuer: "https://op.example", opts: []jwks.Option{nil}, wantErr: jwks.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwks.Discover(context.Background(), tt.issuer, tt.opts...)
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, jwks.ErrDiscovery) || !errors.Is(err, jwks.ErrInvalidConfig) {
				t.Fatalf("err = %v, want %v, ErrDiscovery and ErrInvalidConfig", err, tt.wantErr)
			}
		})
	}
}

func TestDiscoverRefusesDowngradeRedirect(t *testing.T) {
	// A loopback http server redirecting to a non-loopback http URL: the
	// default client must not follow.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://op.example/.well-known/openid-configuration", http.StatusFound)
	}))
	defer srv.Close()
	_, err := jwks.Discover(context.Background(), srv.URL)
	if !errors.Is(err, jwks.ErrInsecureURL) || !errors.Is(err, jwks.ErrFetch) {
		t.Fatalf("err = %v, want ErrInsecureURL and ErrFetch", err)
	}
}
