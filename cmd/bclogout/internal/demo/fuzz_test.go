package demo

import "testing"

// The demo decodes two things from the network without verifying them:
// logout tokens for display and the ID token from the token endpoint.
func FuzzUnverifiedClaims(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln")
	f.Add("a.b.c.d.e")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) { _ = unverifiedClaims(s) })
}

func FuzzDecodeIDToken(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6WyJhIl19.c2ln")
	f.Add("x.y")
	f.Fuzz(func(t *testing.T, s string) {
		c, aud, err := decodeIDToken(s)
		if err != nil && (c != (idClaims{}) || aud != nil) {
			t.Fatalf("error %v with a result", err)
		}
	})
}
