package discovery

import "testing"

func FuzzParse(f *testing.F) {
	const iss = "https://op.example"
	f.Add([]byte(`{"issuer":"https://op.example","jwks_uri":"https://op.example/jwks","id_token_signing_alg_values_supported":["RS256","none"]}`))
	f.Add([]byte(`{"issuer":"https://op.example/","jwks_uri":"https://op.example/jwks"}`))
	f.Add([]byte(`{"issuer":"https://op.example","jwks_uri":"http://op.example/jwks"}`))
	f.Add([]byte(`{"issuer":"https://op.example","backchannel_logout_supported":"true"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		md, err := Parse(iss, body, false)
		if err != nil {
			return
		}
		if md.Issuer != iss {
			t.Fatalf("accepted issuer %q", md.Issuer)
		}
		if _, err := ParseURL(md.JWKSURI, false); err != nil {
			t.Fatalf("accepted jwks_uri %q: %v", md.JWKSURI, err)
		}
		for _, a := range md.SigningAlgs {
			if a == "none" {
				t.Fatal("none kept")
			}
		}
	})
}
