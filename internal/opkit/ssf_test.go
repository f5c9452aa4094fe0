package opkit_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

func TestTransmitterConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name            string
		opts            []opkit.Option
		served, missing string
		slash           bool
	}{
		{"SSF", nil, "ssf-configuration", "risc-configuration", false},
		{"RISC", []opkit.Option{opkit.WithRISCTransmitter()}, "risc-configuration", "ssf-configuration", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := opkit.New(t, tc.opts...)
			resp, err := http.Get(op.Issuer() + "/.well-known/" + tc.served)
			if err != nil {
				t.Fatal(err)
			}
			var md struct {
				Issuer  string `json:"issuer"`
				JWKSURI string `json:"jwks_uri"`
			}
			err = json.NewDecoder(resp.Body).Decode(&md)
			resp.Body.Close()
			want := op.Issuer()
			if tc.slash {
				want += "/"
			}
			if err != nil || md.Issuer != want || md.Issuer != op.SETIssuer() || md.JWKSURI != op.JWKSURL() {
				t.Errorf("%s: %+v %v, want issuer %q", tc.served, md, err, want)
			}
			resp, err = http.Get(op.Issuer() + "/.well-known/" + tc.missing)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", tc.missing, resp.StatusCode)
			}
		})
	}
}

func TestPushSET(t *testing.T) {
	op := opkit.New(t)
	var got *http.Request
	var body []byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()
	set, err := op.SessionRevoked("app", "alice", "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	status, _, err := op.PushSET(t.Context(), rcv.URL, "tok", set)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("PushSET: %d %v", status, err)
	}
	if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/secevent+jwt" ||
		got.Header.Get("Authorization") != "Bearer tok" || string(body) != set {
		t.Errorf("request %s %v, body %q", got.Method, got.Header, body)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
