package opkit_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

// TestClientSecretBasicEncoding checks RFC 6749 §2.3.1: client_secret_basic
// carries the client ID and secret form-urlencoded before base64, as
// golang.org/x/oauth2, Spring and oidc-client send them.
func TestClientSecretBasicEncoding(t *testing.T) {
	op := opkit.New(t)
	const cb = "http://app.example/cb"
	const id, secret = "app:1 é", "p+ss/w%rd:&= ü"
	if err := op.RegisterClient(opkit.Client{ID: id, Secret: secret, RedirectURIs: []string{cb}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		user, pass string // sent as is in the Basic header
		wantStatus int
	}{
		{"form-encoded", url.QueryEscape(id), url.QueryEscape(secret), http.StatusOK},
		{"spaces as %20", strings.ReplaceAll(url.QueryEscape(id), "+", "%20"), strings.ReplaceAll(url.QueryEscape(secret), "+", "%20"), http.StatusOK},
		{"wrong secret", url.QueryEscape(id), url.QueryEscape(secret + "x"), http.StatusUnauthorized},
		// Unencoded, "+" decodes to a space and "%rd" is no escape.
		{"not encoded", id, secret, http.StatusUnauthorized},
		{"bad escape in the id", "app%zz", url.QueryEscape(secret), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := browser(t)
			resp, _ := do(t, br, form(t, http.MethodPost, op.Issuer()+"/authorize", url.Values{
				"client_id": {id}, "redirect_uri": {cb}, "response_type": {"code"}, "scope": {"openid"}, "username": {"alice"},
			}))
			code := codeFrom(t, resp, cb, "")
			req := form(t, http.MethodPost, op.Issuer()+"/token", url.Values{
				"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb},
			})
			req.SetBasicAuth(tt.user, tt.pass)
			resp, body := do(t, br, req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == http.StatusUnauthorized && !strings.Contains(body, "invalid_client") {
				t.Errorf("body %s", body)
			}
		})
	}
}
