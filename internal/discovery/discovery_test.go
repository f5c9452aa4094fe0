package discovery

import (
	"context"
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
			"backchannel_logout_supported":true,"backchannel_logout_session_supported":true}`, issuer)
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
	}
	if !reflect.DeepEqual(*md, want) {
		t.Errorf("metadata = %+v, want %+v", *md, want)
	}
}
