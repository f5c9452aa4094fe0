package rp

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIsFormContentType(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"application/x-www-form-urlencoded", true},
		{"Application/X-WWW-Form-URLEncoded", true},
		{"application/x-www-form-urlencoded; charset=utf-8", true},
		{"application/x-www-form-urlencoded ; charset=UTF-8", true},
		{"", false},
		{"application/json", false},
		{"application/x-www-form-urlencoded-x", false},
		{"application/x-www-form-urlencoded; charset", false},
		{"multipart/form-data; boundary=x", false},
	}
	for _, tt := range tests {
		if got := isFormContentType(tt.header); got != tt.want {
			t.Errorf("isFormContentType(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestReadBody(t *testing.T) {
	const body = "logout_token=abc&state=x"
	tests := []struct {
		name          string
		contentLength int64
		max           int64
		want          string
		wantTooLarge  bool
	}{
		{name: "exact length", contentLength: int64(len(body)), max: 1 << 10, want: body},
		{name: "unknown length", contentLength: -1, max: 1 << 10, want: body},
		{name: "zero length announced", contentLength: 0, max: 1 << 10, want: body},
		{name: "length understated", contentLength: 5, max: 1 << 10, want: body},
		{name: "length overstated", contentLength: 500, max: 1 << 10, want: body},
		{name: "beyond the cap", contentLength: 5, max: 10, wantTooLarge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := http.MaxBytesReader(w, io.NopCloser(strings.NewReader(body)), tt.max)
			got, err := readBody(r, tt.contentLength)
			var tooLarge *http.MaxBytesError
			if tt.wantTooLarge {
				if !errors.As(err, &tooLarge) {
					t.Fatalf("readBody() error = %v, want a MaxBytesError", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("readBody() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

// The logout_token value is unescaped as url.ParseQuery would unescape it,
// whether it is plain (as every OP sends it) or escaped.
func TestLogoutTokenValue(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    string
		wantErr bool
	}{
		{name: "plain", body: "logout_token=aGVhZA.cGF5_bG9hZA.c2ln-&state=x", want: "aGVhZA.cGF5_bG9hZA.c2ln-"},
		{name: "percent escapes", body: "logout_token=aGVhZA%2EcGF5bG9hZA%2ec2ln", want: "aGVhZA.cGF5bG9hZA.c2ln"},
		{name: "plus is a space", body: "logout_token=a+b", want: "a b"},
		{name: "escaped plus", body: "logout_token=a%2Bb", want: "a+b"},
		{name: "empty", body: "logout_token=", want: ""},
		{name: "no value", body: "logout_token", want: ""},
		{name: "malformed escape", body: "logout_token=a%zz", wantErr: true},
		{name: "truncated escape", body: "logout_token=a%2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := logoutToken(tt.body)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("logoutToken(%q) = %q, %v, want %q, error %v", tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
