package opkit_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
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

// TestPushSessionRevokedButton: the home page's "Push CAEP session-revoked"
// pushes, for one OP session, a SET naming it to each client with a
// SETDeliveryURI, and shows the answers; the OP's session stays open.
func TestPushSessionRevokedButton(t *testing.T) {
	op := opkit.New(t)
	var sets []string
	var auth string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sets, auth = append(sets, string(must(io.ReadAll(r.Body)))), r.Header.Get("Authorization")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()
	for _, c := range []opkit.Client{
		{ID: "plain", RedirectURIs: []string{"https://plain.example/cb"}},
		{ID: "receiver", RedirectURIs: []string{"https://rcv.example/cb"}, SETDeliveryURI: rcv.URL + "/ssf", SETBearerToken: "tok"},
	} {
		if err := op.RegisterClient(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := op.RegisterClient(opkit.Client{ID: "bad", SETDeliveryURI: "https://x.example/ssf#frag"}); !errors.Is(err, opkit.ErrInvalidLogoutURI) {
		t.Errorf("SETDeliveryURI with a fragment: %v, want ErrInvalidLogoutURI", err)
	}
	sid, err := op.NewSession("alice", "plain", "receiver")
	if err != nil {
		t.Fatal(err)
	}
	home := string(must(io.ReadAll(must(http.Get(op.Issuer() + "/")).Body)))
	if !strings.Contains(home, "Push CAEP session-revoked") {
		t.Fatalf("home page has no push button:\n%s", home)
	}
	resp, err := http.PostForm(op.Issuer()+"/push_session_revoked", url.Values{"sid": {sid}})
	if err != nil {
		t.Fatal(err)
	}
	page := string(must(io.ReadAll(resp.Body)))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(sets) != 1 || auth != "Bearer tok" || !strings.Contains(page, "202") {
		t.Fatalf("push: %d, %d SETs, Authorization %q, page:\n%s", resp.StatusCode, len(sets), auth, page)
	}
	want, err := op.SessionRevoked("receiver", "alice", sid)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := claimsOf(t, sets[0]), claimsOf(t, want); got["aud"] != want["aud"] || !reflect.DeepEqual(got["sub_id"], want["sub_id"]) {
		t.Errorf("SET claims %v, want aud and sub_id of %v", got, want)
	}
	if open := op.Sessions("alice"); len(open) != 1 {
		t.Errorf("OP sessions after the push: %v, want the one still open", open)
	}
	resp, err = http.PostForm(op.Issuer()+"/push_session_revoked", url.Values{"sid": {"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(sets) != 1 {
		t.Errorf("unknown sid: %d, %d SETs", resp.StatusCode, len(sets))
	}
}

func claimsOf(t *testing.T, jws string) map[string]any {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	var m map[string]any
	if err := json.Unmarshal(must(base64.RawURLEncoding.DecodeString(parts[1])), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
