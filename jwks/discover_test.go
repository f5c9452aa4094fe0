package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/jwks"
)

func TestDiscover(t *testing.T) {
	type answer struct {
		status int
		ctype  string
		body   string
	}
	// good renders a discovery document; %[1]s is the issuer.
	const good = `{"issuer":%[1]q,"jwks_uri":"%[1]s/jwks","authorization_endpoint":"%[1]s/auth",
		"id_token_signing_alg_values_supported":["RS256","none","ES256","NONE"],
		"backchannel_logout_supported":true}`
	keys := setJSON(t, publicOf(t, genKey(t, "RSA", "k1", "RS256")))
	tests := []struct {
		name    string
		path    string // issuer path below the server's URL
		answer  func(issuer string) answer
		jwks    int // status of the JWK Set, 200 when zero
		wantErr error
	}{
		{name: "ok", answer: func(iss string) answer { return answer{200, "application/json; charset=utf-8", fmt.Sprintf(good, iss)} }},
		{name: "issuer with path", path: "/realms/acme", answer: func(iss string) answer { return answer{200, "application/json", fmt.Sprintf(good, iss)} }},
		{name: "issuer with trailing slash", path: "/tenant/", answer: func(iss string) answer { return answer{200, "application/json", fmt.Sprintf(good, iss)} }},
		{name: "issuer mismatch", answer: func(iss string) answer { return answer{200, "application/json", fmt.Sprintf(good, iss+"/")} }, wantErr: jwks.ErrFetch},
		{name: "issuer missing", answer: func(iss string) answer {
			return answer{200, "application/json", `{"jwks_uri":"https://op.example/jwks"}`}
		}, wantErr: jwks.ErrFetch},
		{name: "missing jwks_uri", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q}`, iss)}
		}, wantErr: jwks.ErrFetch},
		{name: "insecure jwks_uri", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q,"jwks_uri":"http://op.example/jwks"}`, iss)}
		}, wantErr: jwks.ErrFetch},
		{name: "non-200", answer: func(iss string) answer { return answer{404, "application/json", fmt.Sprintf(good, iss)} }, wantErr: jwks.ErrFetch},
		{name: "500", answer: func(iss string) answer { return answer{500, "text/plain", "oops"} }, wantErr: jwks.ErrFetch},
		{name: "html", answer: func(iss string) answer { return answer{200, "text/html", fmt.Sprintf(good, iss)} }, wantErr: jwks.ErrFetch},
		{name: "garbage", answer: func(iss string) answer { return answer{200, "application/json", `{"issuer":`} }, wantErr: jwks.ErrFetch},
		{name: "wrong types", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q,"jwks_uri":"%[1]s/jwks","backchannel_logout_supported":"yes"}`, iss)}
		}, wantErr: jwks.ErrFetch},
		{name: "oversize body", answer: func(iss string) answer {
			return answer{200, "application/json", fmt.Sprintf(`{"issuer":%q,"jwks_uri":"%[1]s/jwks","pad":"%s"}`, iss, strings.Repeat("x", 1<<20))}
		}, wantErr: jwks.ErrFetch},
		{name: "key set unavailable", answer: func(iss string) answer { return answer{200, "application/json", fmt.Sprintf(good, iss)} },
			jwks: http.StatusServiceUnavailable, wantErr: jwks.ErrFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var issuer, gotPath string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/jwks") {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(cmp(tt.jwks, http.StatusOK))
					_, _ = w.Write(keys)
					return
				}
				gotPath = r.URL.Path
				a := tt.answer(issuer)
				w.Header().Set("Content-Type", a.ctype)
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(a.body))
			}))
			defer srv.Close()
			issuer = srv.URL + tt.path

			r, algs, err := jwks.Discover(context.Background(), issuer, jwks.WithLogger(quiet))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer r.Close()
			if want := strings.TrimSuffix(tt.path, "/") + "/.well-known/openid-configuration"; gotPath != want {
				t.Errorf("fetched %q, want %q", gotPath, want)
			}
			if !slices.Equal(algs, []string{"RS256", "ES256"}) {
				t.Errorf("algs = %v, want none dropped", algs)
			}
			// The first fetch of the key set is done.
			set, err := r.Keys(context.Background(), "k1")
			if err != nil || !hasKid(set, "k1") {
				t.Fatalf("Keys = %v, %v", set, err)
			}
		})
	}
}

func cmp(v, fallback int) int {
	if v == 0 {
		return fallback
	}
	return v
}

func TestDiscoverInsecureIssuer(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
		opts   []jwks.Option
	}{
		{name: "http non-loopback", issuer: "http://op.example"},
		{name: "localhost lookalike", issuer: "http://localhost.evil.com"},
		{name: "not a url", issuer: "op.example"},
		{name: "empty", issuer: ""},
		{name: "query", issuer: "https://op.example/?tenant=a"},
		{name: "empty query", issuer: "https://op.example/?"},
		{name: "fragment", issuer: "https://op.example/#a"},
		{name: "empty fragment", issuer: "https://op.example/#"},
		{name: "bad option", issuer: "https://op.example", opts: []jwks.Option{jwks.WithHTTPClient(nil)}},
		{name: "nil option", issuer: "https://op.example", opts: []jwks.Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := jwks.Discover(context.Background(), tt.issuer, tt.opts...)
			if !errors.Is(err, errs.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
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
	_, _, err := jwks.Discover(context.Background(), srv.URL)
	if !errors.Is(err, jwks.ErrFetch) || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("err = %v, want ErrFetch for an insecure redirect", err)
	}
}
