package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestFetch(t *testing.T) {
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":"%[1]s/jwks","authorization_endpoint":"%[1]s/auth",
			"token_endpoint":"%[1]s/token","end_session_endpoint":"%[1]s/logout",
			"id_token_signing_alg_values_supported":["RS256","none","ES256","NONE"],
			"backchannel_logout_supported":true,"backchannel_logout_session_supported":true,
			"frontchannel_logout_supported":true,"frontchannel_logout_session_supported":true}`, issuer)
	}))
	defer srv.Close()
	issuer = srv.URL
	md, err := Fetch(context.Background(), srv.Client(), issuer, false)
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{
		Issuer: issuer, JWKSURI: issuer + "/jwks", AuthorizationEndpoint: issuer + "/auth",
		TokenEndpoint: issuer + "/token", EndSessionEndpoint: issuer + "/logout",
		SigningAlgs:                []string{"RS256", "ES256"},
		BackchannelLogoutSupported: true, BackchannelLogoutSessionSupported: true,
		FrontchannelLogoutSupported: true, FrontchannelLogoutSessionSupported: true,
	}
	if !reflect.DeepEqual(*md, want) {
		t.Errorf("metadata = %+v, want %+v", *md, want)
	}
}

// Parse reads a discovery document as strictly as a token: member names
// exactly (a case-changed name is another, unknown member), each once, in
// valid UTF-8, and nothing after the document.
func TestParseIsStrict(t *testing.T) {
	const iss = "https://op.example"
	tests := []struct {
		name           string
		body           string
		wantErr        bool
		wantEndSession string
		wantFrontSID   bool
	}{
		{name: "valid", body: `{"issuer":"https://op.example","jwks_uri":"https://op.example/jwks","end_session_endpoint":"https://op.example/logout","frontchannel_logout_supported":true,"frontchannel_logout_session_supported":true}`,
			wantEndSession: "https://op.example/logout", wantFrontSID: true},
		{name: "trailing bytes", body: `{"issuer":"https://op.example","jwks_uri":"https://op.example/jwks"}x`, wantErr: true},
		{name: "a second document", body: `{"issuer":"https://op.example","jwks_uri":"https://op.example/jwks"}{}`, wantErr: true},
		{name: "case-changed jwks_uri", body: `{"issuer":"https://op.example","JWKS_URI":"https://op.example/jwks"}`, wantErr: true},
		{name: "case-changed issuer", body: `{"Issuer":"https://op.example","jwks_uri":"https://op.example/jwks"}`, wantErr: true},
		{name: "issuer twice", body: `{"issuer":"https://evil.example","issuer":"https://op.example","jwks_uri":"https://op.example/jwks"}`, wantErr: true},
		{name: "invalid utf-8", body: "{\"issuer\":\"https://op.example\",\"jwks_uri\":\"https://op.example/jwks\",\"x\":\"\xff\"}", wantErr: true},
		{name: "case-changed end_session_endpoint is not read", body: `{"issuer":"https://op.example","jwks_uri":"https://op.example/jwks","End_Session_Endpoint":"https://op.example/logout"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Parse(iss, []byte(tt.body), false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if md.EndSessionEndpoint != tt.wantEndSession || md.FrontchannelLogoutSessionSupported != tt.wantFrontSID {
				t.Errorf("end_session_endpoint %q, frontchannel_logout_session_supported %v; want %q, %v",
					md.EndSessionEndpoint, md.FrontchannelLogoutSessionSupported, tt.wantEndSession, tt.wantFrontSID)
			}
		})
	}
}

// NewClient follows a redirect only to a URL CheckURL accepts: a loopback
// http server cannot send it to plain http on another host.
func TestNewClientRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, "http://op.example/jwks", http.StatusFound)
		case "/to-loopback":
			http.Redirect(w, r, "/jwks", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"keys":[]}`)
		}
	}))
	defer srv.Close()
	c := NewClient(false)
	defer c.CloseIdleConnections()
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{name: "to loopback http", path: "/to-loopback"},
		{name: "to http on another host", path: "/to-http", wantErr: ErrInsecureURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Get(context.Background(), c, srv.URL+tt.path, true)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// Report fills the Found the context carries for its key type, and only
// that one.
func TestReport(t *testing.T) {
	md := &Metadata{Issuer: "https://op.example"}
	var ints Found[int]
	var strs Found[string]
	ctx := WithFound(WithFound(context.Background(), &ints), &strs)
	Report(ctx, md, 7)
	if ints.Metadata != md || ints.Keys != 7 {
		t.Errorf("Found[int] = %+v", ints)
	}
	if strs.Metadata != nil || strs.Keys != "" {
		t.Errorf("Found[string] filled: %+v", strs)
	}
	Report(context.Background(), md, 8) // no Found: nothing to fill, no panic
}
