package discovery

import (
	"errors"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		allowHTTP bool
		wantErr   error
	}{
		{name: "https", url: "https://op.example/jwks"},
		{name: "https uppercase scheme", url: "HTTPS://op.example/jwks"},
		{name: "http 127.0.0.1", url: "http://127.0.0.1:8080/jwks"},
		{name: "http 127.1.2.3", url: "http://127.1.2.3/jwks"},
		{name: "http ::1", url: "http://[::1]:8080/jwks"},
		{name: "http localhost", url: "http://localhost:8080/jwks"},
		{name: "http LOCALHOST", url: "http://LOCALHOST/jwks"},
		{name: "http non-loopback", url: "http://op.example/jwks", wantErr: ErrInsecureURL},
		{name: "http localhost lookalike", url: "http://localhost.evil.com/jwks", wantErr: ErrInsecureURL},
		{name: "http localhost subdomain", url: "http://evil.localhost.com/jwks", wantErr: ErrInsecureURL},
		{name: "http 128.0.0.1", url: "http://128.0.0.1/jwks", wantErr: ErrInsecureURL},
		{name: "http with userinfo trick", url: "http://127.0.0.1@op.example/jwks", wantErr: ErrInsecureURL},
		{name: "http allowed by option", url: "http://op.example/jwks", allowHTTP: true},
		{name: "ftp", url: "ftp://op.example/jwks", wantErr: ErrInsecureURL},
		{name: "file", url: "file:///etc/jwks.json", wantErr: ErrInsecureURL},
		{name: "relative", url: "/jwks", wantErr: ErrInsecureURL},
		{name: "empty", url: "", wantErr: ErrInsecureURL},
		{name: "unparseable", url: "https://op example/%zz", wantErr: ErrInsecureURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseURL(tt.url, tt.allowHTTP)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
