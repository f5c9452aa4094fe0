package rp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bclogout/bclogout/rp"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

// idToken turns the base logout token into an ID token: typ JWT, a nonce,
// no events, no jti.
func idToken(tk *tok) {
	tk.header["typ"] = "JWT"
	delete(tk.claims, "events")
	delete(tk.claims, "jti")
	tk.claims["nonce"] = "n-1"
	tk.claims["exp"] = float64(testNow.Add(time.Hour).Unix())
}

// TestVerifyIDToken: the front door's login step judges the raw ID token
// with the OP's keys and a logout token's JOSE rules, then the claim rules
// of Core 1.0 §3.1.3.7 that need no login flow; nonce is the login flow's
// and is not checked.
func TestVerifyIDToken(t *testing.T) {
	k := keys(t)
	tests := []struct {
		name    string
		opts    []rp.Option
		token   string
		wantErr error
	}{
		{name: "valid, nonce not checked", token: mint(t, idToken)},
		{name: "valid without typ", token: mint(t, both(idToken, setHeader("typ", nil)))},
		{name: "valid, several audiences and azp the client", token: mint(t, both(idToken, setClaim("aud", []any{testClientID, "other"}), setClaim("azp", testClientID)))},
		{name: "valid, one audience and azp another", token: mint(t, both(idToken, setClaim("azp", "android-app")))},
		// A custom "IAT" member is not iat: the login time stays the
		// token's, or a far-future one would outlive every revocation.
		{name: "valid, IAT is not iat", token: mint(t, both(idToken, setClaim("IAT", float64(253402300000))))},
		{name: "valid encrypted", opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))},
			token: encrypt(t, mint(t, idToken), jwa.RSA_OAEP_256(), &k.enc.PublicKey, "enc-1")},

		{name: "logout token", token: mint(t, nil), wantErr: rp.ErrSignature},
		{name: "logout token without typ", token: mint(t, setHeader("typ", nil)), wantErr: rp.ErrClaims},
		// A Security Event Token is not an ID token either, typed or not.
		{name: "SET", token: mint(t, both(idToken, setHeader("typ", "secevent+jwt"), setClaim("events", map[string]any{"https://schemas.openid.net/secevent/caep/event-type/session-revoked": map[string]any{}}))), wantErr: rp.ErrSignature},
		{name: "SET without typ", token: mint(t, both(idToken, setHeader("typ", nil), setClaim("events", map[string]any{"https://schemas.openid.net/secevent/caep/event-type/session-revoked": map[string]any{}}))), wantErr: rp.ErrClaims},
		{name: "typ at+jwt", token: mint(t, both(idToken, setHeader("typ", "at+jwt"))), wantErr: rp.ErrSignature},
		{name: "alg none", token: mint(t, both(idToken, setHeader("alg", "none"))), wantErr: rp.ErrSignature},
		{name: "ES256 on the RS256 default", token: mint(t, both(idToken, setHeader("alg", "ES256"), setHeader("kid", "ec-1"), func(tk *tok) { tk.key = k.ec })), wantErr: rp.ErrSignature},
		{name: "jku header", token: mint(t, both(idToken, setHeader("jku", "https://evil.example/jwks"))), wantErr: rp.ErrSignature},
		{name: "bad signature", token: mint(t, both(idToken, func(tk *tok) { tk.key = k.rsa2 })), wantErr: rp.ErrSignature},
		{name: "other issuer", token: mint(t, both(idToken, setClaim("iss", testIssuer+"/"))), wantErr: rp.ErrIssuer},
		{name: "not our audience", token: mint(t, both(idToken, setClaim("aud", "other"))), wantErr: rp.ErrAudience},
		{name: "untrusted audience", opts: []rp.Option{rp.WithTrustedAudiences()}, token: mint(t, both(idToken, setClaim("aud", []any{testClientID, "other"}))), wantErr: rp.ErrAudience},
		{name: "several audiences and azp another", token: mint(t, both(idToken, setClaim("aud", []any{testClientID, "other"}), setClaim("azp", "other"))), wantErr: rp.ErrAudience},
		// Core 1.0 §3.1.3.7 step 10: the login would be dated by an OP
		// clock that logouts without an OP date could never reach.
		{name: "issued in the future", token: mint(t, both(idToken, setClaim("iat", float64(testNow.Add(5*time.Minute).Unix())))), wantErr: rp.ErrTime},
		// A wider skew tolerates an OP clock for logout tokens and exp,
		// not for the login's date, which those logouts must still reach.
		{name: "issued beyond the OP clock skew, under a wider WithClockSkew", opts: []rp.Option{rp.WithClockSkew(10 * time.Minute)},
			token: mint(t, both(idToken, setClaim("iat", float64(testNow.Add(3*time.Minute).Unix())))), wantErr: rp.ErrTime},
		{name: "expired", token: mint(t, both(idToken, setClaim("exp", float64(testNow.Add(-2*time.Minute).Unix())))), wantErr: rp.ErrTime},
		{name: "no exp", token: mint(t, both(idToken, setClaim("exp", nil))), wantErr: rp.ErrTime},
		{name: "no iat", token: mint(t, both(idToken, setClaim("iat", nil))), wantErr: rp.ErrTime},
		{name: "no sub", token: mint(t, both(idToken, setClaim("sub", nil))), wantErr: rp.ErrClaims},
		{name: "empty sid", token: mint(t, both(idToken, setClaim("sid", ""))), wantErr: rp.ErrClaims},
		{name: "SUB is not sub", token: mint(t, both(idToken, setClaim("sub", nil), setClaim("SUB", "user-1"))), wantErr: rp.ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			login, err := newVerifier(t, nil, tt.opts...).VerifyIDToken(t.Context(), tt.token)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("VerifyIDToken: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			want := testNow.Add(-10 * time.Second)
			if login.Issuer != testIssuer || login.Subject != "user-1" || login.SessionID != "session-1" || !login.LoginTime.Equal(want) ||
				login.IDToken != tt.token || login.LocalID != "" || !login.Expires.IsZero() {
				t.Errorf("binding = %+v", login)
			}
		})
	}
}

// FuzzVerifyIDToken: whatever the token endpoint answers, VerifyIDToken
// gives a binding with what a store needs, or an error of one class, and
// never panics.
func FuzzVerifyIDToken(f *testing.F) {
	f.Add(mint(f, idToken))
	f.Add(mint(f, both(idToken, setHeader("typ", nil))))
	f.Add(mint(f, nil))
	f.Add("")
	f.Add("e30.e30.")
	v := newVerifier(f, nil)
	f.Fuzz(func(t *testing.T, token string) {
		login, err := v.VerifyIDToken(context.Background(), token)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if login.Issuer != testIssuer || login.Subject == "" || login.LoginTime.IsZero() {
			t.Fatalf("accepted an invalid login: %+v", login)
		}
	})
}
