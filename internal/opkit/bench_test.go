package opkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkSign measures minting a signed logout token; the Raw baselines
// below are the signature alone, so the JSON and base64 overhead is the
// difference.
func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		k, err := GenerateKey(alg, "k")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg, func(b *testing.B) {
			for b.Loop() {
				if _, err := NewLogoutToken("https://op.example", "client", testNow).Sign(k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSignRaw(b *testing.B) {
	msg := digest(crypto.SHA256, []byte("header.payload"))
	rk, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("RS256", func(b *testing.B) {
		for b.Loop() {
			if _, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	ek, err := GenerateKey("ES256", "k")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ES256", func(b *testing.B) {
		for b.Loop() {
			if _, err := ecdsa.SignASN1(rand.Reader, ek.Signer.(*ecdsa.PrivateKey), msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFanOut is one EndSession to one RP on loopback.
func BenchmarkFanOut(b *testing.B) {
	rp := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer rp.Close()
	op := New(b, WithAlg("ES256"))
	if err := op.RegisterClient(Client{ID: "rp", BackchannelLogoutURI: rp.URL}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sid, _ := op.NewSession("alice", "rp")
		if _, err := op.EndSession(b.Context(), sid); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEndpoints throws arbitrary query strings and form bodies at every
// endpoint of the OP: whatever a browser or an RP sends, no panic and no
// 5xx.
func FuzzEndpoints(f *testing.F) {
	f.Add("GET", "/authorize", "client_id=app&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid", "")
	f.Add("POST", "/authorize", "", "client_id=app&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&username=alice")
	f.Add("POST", "/token", "", "grant_type=authorization_code&code=x&client_id=app&client_secret=s")
	f.Add("POST", "/end_session", "", "sid=x")
	f.Add("GET", "/end_session", "post_logout_redirect_uri=http%3A%2F%2Fapp.example%2Fbye&state=%00", "")
	op, err := newOP(nil)
	if err != nil {
		f.Fatal(err)
	}
	op.issuer = "http://op.example"
	if err := op.RegisterClient(Client{ID: "app", Secret: "s", RedirectURIs: []string{"http://app.example/cb"},
		PostLogoutRedirectURIs: []string{"http://app.example/bye"}}); err != nil {
		f.Fatal(err)
	}
	hint, err := (&Token{Claims: map[string]any{"iss": op.issuer, "aud": "app", "sub": "alice", "sid": "x"}}).Sign(op.Key())
	if err != nil {
		f.Fatal(err)
	}
	f.Add("GET", "/end_session", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://app.example/bye"}, "state": {"s"}}.Encode(), "")
	f.Add("POST", "/end_session", "", url.Values{"id_token_hint": {hint}, "client_id": {"other"}}.Encode())
	f.Add("GET", "/userinfo", "", "")
	f.Add("POST", "/userinfo", "", "access_token=x")
	h := op.routes()
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if method != "GET" && method != "POST" {
			method = "POST"
		}
		u := &url.URL{Path: path, RawQuery: query}
		if path == "" || path[0] != '/' {
			u.Path = "/" + path
		}
		req := httptest.NewRequest(method, "http://op.example/", nil)
		req.URL = u
		req.RequestURI = u.RequestURI()
		if body != "" {
			req = httptest.NewRequest(method, "http://op.example/", strings.NewReader(body))
			req.URL, req.RequestURI = u, u.RequestURI()
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s?%s: %d", method, path, query, rec.Code)
		}
	})
}
