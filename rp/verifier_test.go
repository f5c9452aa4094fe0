package rp_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/internal/spec"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

const bclEvent = spec.BackchannelLogoutEvent

func newVerifier(t testing.TB, src jwks.Source, opts ...rp.Option) *rp.Verifier {
	t.Helper()
	if src == nil {
		src = staticKeys(t, defaultKeys(t)...)
	}
	opts = append([]rp.Option{rp.WithClock(clock)}, opts...)
	v, err := rp.NewVerifier(testIssuer, testClientID, src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVerifyCatalogue has one case per rule of Back-Channel Logout 1.0 §2.4 and §2.6 and per known
// attack; each asserts the class sentinel and the rule its detail names.
func TestVerifyCatalogue(t *testing.T) {
	k := keys(t)
	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := float64(testNow.Unix())

	tests := []struct {
		name    string
		opts    []rp.Option
		src     *staticSource
		token   string
		wantErr error
	}{
		{name: "valid RS256", token: mint(t, nil)},
		{name: "valid ES256, key without alg", token: mint(t, both(setHeader("alg", "ES256"), setHeader("kid", "ec-1"), func(tk *tok) { tk.key = k.ec })), opts: []rp.Option{rp.WithAlgorithms("RS256", "ES256")}},
		{name: "valid EdDSA", token: mint(t, both(setHeader("alg", "EdDSA"), setHeader("kid", "ed-1"), func(tk *tok) { tk.key = k.ed })), opts: []rp.Option{rp.WithAlgorithms("EdDSA")}},
		{name: "valid HS256 with client secret", token: mint(t, both(setHeader("alg", "HS256"), setHeader("kid", nil), func(tk *tok) { tk.key = secret })), opts: []rp.Option{rp.WithAlgorithms("HS256"), rp.WithClientSecret(secret)}},

		// alg
		{name: "alg none", token: mint(t, setHeader("alg", "none")), wantErr: errAlgorithm},
		{name: "alg NoNe", token: mint(t, both(setHeader("alg", "NoNe"), func(tk *tok) { tk.alg = "none" })), wantErr: errAlgorithm},
		{name: "alg missing", token: mint(t, both(setHeader("alg", nil), func(tk *tok) { tk.alg = "RS256" })), wantErr: errAlgorithm},
		{name: "HS256 keyed with the RSA public key PEM", token: mint(t, both(setHeader("alg", "HS256"), func(tk *tok) { tk.key = pubPEM })), wantErr: errAlgorithm},
		{name: "HS256 keyed with the RSA public key, HS256 registered", token: mint(t, both(setHeader("alg", "HS256"), func(tk *tok) { tk.key = pubPEM })), opts: []rp.Option{rp.WithAlgorithms("RS256", "HS256"), rp.WithClientSecret(secret)}, wantErr: errBadSignature},
		{name: "HS256 wrong secret", token: mint(t, both(setHeader("alg", "HS256"), func(tk *tok) { tk.key = []byte("other secret") })), opts: []rp.Option{rp.WithAlgorithms("HS256"), rp.WithClientSecret(secret)}, wantErr: errBadSignature},
		{name: "PS256 header on RS256-bound key", token: mint(t, setHeader("alg", "PS256")), opts: []rp.Option{rp.WithAlgorithms("RS256", "PS256")}, wantErr: errAlgorithm},
		{name: "alg not advertised", token: mint(t, both(setHeader("alg", "ES256"), setHeader("kid", "ec-1"), func(tk *tok) { tk.key = k.ec })), wantErr: errAlgorithm},
		{name: "RS256 on EC key", token: mint(t, setHeader("kid", "ec-1")), wantErr: errAlgorithm},

		// keys
		{name: "unknown kid", token: mint(t, setHeader("kid", "other")), wantErr: errUnknownKey},
		{name: "signed by another key", token: mint(t, func(tk *tok) { tk.key = k.rsa2 }), wantErr: errBadSignature},
		{name: "tampered payload", token: tamper(mint(t, nil)), wantErr: errBadSignature},
		{name: "tampered signature", token: mint(t, nil)[:len(mint(t, nil))-4] + "AAAA", wantErr: errBadSignature},
		{name: "no kid, one usable key", token: mint(t, setHeader("kid", nil)), src: &staticSource{set: keySet(t, pubJWK(t, &k.rsa.PublicKey, nil))}},
		{name: "no kid, two usable keys", token: mint(t, setHeader("kid", nil)), src: &staticSource{set: keySet(t, pubJWK(t, &k.rsa.PublicKey, nil), pubJWK(t, &k.rsa2.PublicKey, nil))}, wantErr: errUnknownKey},
		{name: "key with use enc", token: mint(t, nil), src: &staticSource{set: keySet(t, pubJWK(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa-1", "use": "enc"}), pubJWK(t, &k.rsa2.PublicKey, map[string]any{"kid": "rsa-2"}))}, wantErr: errUnknownKey},
		// each RSA algorithm, from an RSA key the JWK binds to none
		{name: "valid RS384", token: mint(t, setHeader("alg", "RS384")), src: rsaUnbound(t), opts: []rp.Option{rp.WithAlgorithms("RS384")}},
		{name: "valid RS512", token: mint(t, setHeader("alg", "RS512")), src: rsaUnbound(t), opts: []rp.Option{rp.WithAlgorithms("RS512")}},
		{name: "valid PS256", token: mint(t, setHeader("alg", "PS256")), src: rsaUnbound(t), opts: []rp.Option{rp.WithAlgorithms("PS256")}},
		{name: "RS256 signed by another key, unbound key", token: mint(t, func(tk *tok) { tk.key = k.rsa2 }), src: rsaUnbound(t), wantErr: errBadSignature},
		{name: "RS384 signed by another key", token: mint(t, both(setHeader("alg", "RS384"), func(tk *tok) { tk.key = k.rsa2 })), src: rsaUnbound(t), opts: []rp.Option{rp.WithAlgorithms("RS384")}, wantErr: errBadSignature},
		{name: "RS512 tampered payload", token: tamper(mint(t, setHeader("alg", "RS512"))), src: rsaUnbound(t), opts: []rp.Option{rp.WithAlgorithms("RS512")}, wantErr: errBadSignature},
		{name: "RS384 header, RS512 signature", token: mint(t, both(setHeader("alg", "RS384"), func(tk *tok) { tk.alg = "RS512" })), src: rsaUnbound(t), opts: []rp.Option{rp.WithAlgorithms("RS384", "RS512")}, wantErr: errBadSignature},
		{name: "PS256 tampered payload", token: tamper(mint(t, setHeader("alg", "PS256"))), src: rsaUnbound(t), opts: []rp.Option{rp.WithAlgorithms("PS256")}, wantErr: errBadSignature},
		{name: "key source down", token: mint(t, nil), src: &staticSource{err: jwks.ErrFetch}, wantErr: rp.ErrTemporary},

		// headers
		{name: "jku", token: mint(t, setHeader("jku", "https://evil.example/jwks")), wantErr: errForbiddenHeader},
		{name: "x5u", token: mint(t, setHeader("x5u", "https://evil.example/cert")), wantErr: errForbiddenHeader},
		{name: "embedded jwk", token: mint(t, setHeader("jwk", map[string]any{"kty": "RSA"})), wantErr: errForbiddenHeader},
		{name: "x5c", token: mint(t, setHeader("x5c", []string{"MIIB"})), wantErr: errForbiddenHeader},
		{name: "unknown crit", token: mint(t, both(setHeader("crit", []string{"exp"}), setHeader("exp", 1))), wantErr: errCritical},
		{name: "b64 false", token: mint(t, setHeader("b64", false)), wantErr: errCritical},
		{name: "typ absent", token: mint(t, setHeader("typ", nil))},
		{name: "typ JWT", token: mint(t, setHeader("typ", "JWT"))},
		{name: "typ application/logout+jwt mixed case", token: mint(t, setHeader("typ", "Application/Logout+JWT"))},
		{name: "typ at+jwt", token: mint(t, setHeader("typ", "at+jwt")), wantErr: errType},
		{name: "typ secevent+jwt", token: mint(t, setHeader("typ", "secevent+jwt")), wantErr: errType},
		{name: "typ JWT with explicit type required", token: mint(t, setHeader("typ", "JWT")), opts: []rp.Option{rp.WithRequireExplicitType()}, wantErr: errType},
		{name: "typ absent with explicit type required", token: mint(t, setHeader("typ", nil)), opts: []rp.Option{rp.WithRequireExplicitType()}, wantErr: errType},
		{name: "typ logout+jwt with explicit type required", token: mint(t, nil), opts: []rp.Option{rp.WithRequireExplicitType()}},

		// iss
		{name: "iss other", token: mint(t, setClaim("iss", "https://evil.example.com")), wantErr: rp.ErrIssuer},
		{name: "iss trailing slash", token: mint(t, setClaim("iss", testIssuer+"/")), wantErr: rp.ErrIssuer},
		{name: "iss missing", token: mint(t, setClaim("iss", nil)), wantErr: rp.ErrIssuer},
		// aud
		{name: "aud other", token: mint(t, setClaim("aud", "client-2")), wantErr: rp.ErrAudience},
		{name: "aud missing", token: mint(t, setClaim("aud", nil)), wantErr: rp.ErrAudience},
		{name: "aud number", token: mint(t, setClaim("aud", 7)), wantErr: rp.ErrAudience},
		{name: "aud array with us", token: mint(t, setClaim("aud", []any{"other", testClientID}))},
		{name: "aud array with non-string", token: mint(t, setClaim("aud", []any{testClientID, 1})), wantErr: rp.ErrAudience},
		{name: "aud untrusted extra", token: mint(t, setClaim("aud", []any{"other", testClientID})), opts: []rp.Option{rp.WithTrustedAudiences()}, wantErr: rp.ErrAudience},
		{name: "aud trusted extra", token: mint(t, setClaim("aud", []any{"other", testClientID})), opts: []rp.Option{rp.WithTrustedAudiences("other")}},
		// iat
		{name: "iat missing", token: mint(t, setClaim("iat", nil)), wantErr: errIssuedAt},
		{name: "iat string", token: mint(t, setClaim("iat", "1700000000")), wantErr: errIssuedAt},
		{name: "iat in the future beyond skew", token: mint(t, setClaim("iat", now+61)), wantErr: errIssuedAt},
		{name: "iat in the future within skew", token: mint(t, setClaim("iat", now+59))},
		{name: "iat older than max age", token: mint(t, both(setClaim("iat", now-361), setClaim("exp", nil))), wantErr: errIssuedAt},
		{name: "iat older than custom max age", token: mint(t, setClaim("iat", now-100)), opts: []rp.Option{rp.WithMaxAge(30 * time.Second)}, wantErr: errIssuedAt},
		{name: "iat fractional", token: mint(t, setClaim("iat", now-0.5))},
		// exp
		{name: "exp past beyond skew", token: mint(t, setClaim("exp", now-61)), wantErr: errExpired},
		{name: "exp past within skew", token: mint(t, setClaim("exp", now-59))},
		{name: "exp string", token: mint(t, setClaim("exp", "soon")), wantErr: errExpired},
		{name: "exp missing", token: mint(t, setClaim("exp", nil))},
		{name: "exp missing but required", token: mint(t, setClaim("exp", nil)), opts: []rp.Option{rp.WithRequireExp()}, wantErr: errExpired},
		// sub, sid
		{name: "sub and sid missing", token: mint(t, both(setClaim("sub", nil), setClaim("sid", nil))), wantErr: errSubject},
		{name: "sid only", token: mint(t, setClaim("sub", nil))},
		{name: "sub only", token: mint(t, setClaim("sid", nil))},
		{name: "sub empty", token: mint(t, setClaim("sub", "")), wantErr: errSubject},
		{name: "sid number", token: mint(t, setClaim("sid", 5)), wantErr: errSubject},
		{name: "sub only, session required", token: mint(t, setClaim("sid", nil)), opts: []rp.Option{rp.WithSessionRequired()}, wantErr: errSessionIDRequired},
		// events
		{name: "events missing", token: mint(t, setClaim("events", nil)), wantErr: errEvents},
		{name: "events array", token: mint(t, setClaim("events", []any{bclEvent})), wantErr: errEvents},
		{name: "events string", token: mint(t, setClaim("events", bclEvent)), wantErr: errEvents},
		{name: "events without logout member", token: mint(t, setClaim("events", map[string]any{"other": map[string]any{}})), wantErr: errEvents},
		{name: "events member not object", token: mint(t, setClaim("events", map[string]any{bclEvent: true})), wantErr: errEvents},
		{name: "events extra non-object member", token: mint(t, setClaim("events", map[string]any{bclEvent: map[string]any{}, "revoke_offline_access": true}))},
		{name: "event instead of events", token: mint(t, both(setClaim("events", nil), setClaim("event", map[string]any{bclEvent: map[string]any{}}))), wantErr: errEvents},
		// nonce
		{name: "nonce", token: mint(t, setClaim("nonce", "n-1")), wantErr: errNonce},
		{name: "nonce null", token: mint(t, func(tk *tok) { tk.claims["nonce"] = nil }), wantErr: errNonce},
		// jti
		{name: "jti missing", token: mint(t, setClaim("jti", nil)), wantErr: errJTI},
		{name: "jti empty", token: mint(t, setClaim("jti", "")), wantErr: errJTI},
		{name: "jti number", token: mint(t, setClaim("jti", 42)), wantErr: errJTI},

		// malformed
		{name: "empty", token: "", wantErr: rp.ErrMalformed},
		{name: "two segments", token: "a.b", wantErr: rp.ErrMalformed},
		{name: "four segments", token: mint(t, nil) + ".x", wantErr: rp.ErrMalformed},
		{name: "header not base64", token: "!!!" + mint(t, nil)[3:], wantErr: rp.ErrMalformed},
		{name: "header not JSON", token: b64([]byte("nope")) + "." + strings.SplitN(mint(t, nil), ".", 2)[1], wantErr: rp.ErrMalformed},
		{name: "payload array", token: mint(t, func(tk *tok) { tk.claims = nil }), wantErr: rp.ErrMalformed},
		{name: "signature not base64", token: mint(t, nil) + "*", wantErr: rp.ErrMalformed},
		{name: "empty signature", token: strings.TrimRightFunc(mint(t, nil), func(r rune) bool { return r != '.' }), wantErr: errBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src jwks.Source
			if tt.src != nil {
				src = tt.src
			}
			v := newVerifier(t, src, tt.opts...)
			ev, err := v.Verify(context.Background(), tt.token)
			if !isErr(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if ev != nil {
					t.Error("Verify() returned an event with an error")
				}
				if got := rejection.Reason(err); got == "internal" {
					t.Errorf("Reason(%v) = internal", err)
				}
				return
			}
			if ev.Issuer != testIssuer || ev.JTI != "jti-1" {
				t.Errorf("event = %+v", ev)
			}
		})
	}
}

// rsaUnbound publishes the test RSA key as "rsa-1" with no alg member, so
// that every RSA algorithm may verify with it.
func rsaUnbound(t testing.TB) *staticSource {
	return &staticSource{set: keySet(t, pubJWK(t, &keys(t).rsa.PublicKey, map[string]any{"kid": "rsa-1"}))}
}

// tamper flips a payload claim without re-signing.
func tamper(compact string) string {
	parts := strings.Split(compact, ".")
	p, _ := b64dec(parts[1])
	var c map[string]any
	_ = json.Unmarshal(p, &c)
	c["sub"] = "admin"
	b, _ := json.Marshal(c)
	parts[1] = b64(b)
	return strings.Join(parts, ".")
}

// rotatedSource serves old from its cache and fresh once asked to fetch
// again, as a jwks.Remote whose OP rotated its key since the last fetch.
type rotatedSource struct {
	old, fresh *jwks.KeySet
	refreshes  atomic.Int32
}

func (s *rotatedSource) Keys(context.Context, string) (*jwks.KeySet, error) { return s.old, nil }

func (s *rotatedSource) Refresh(context.Context) (*jwks.KeySet, error) {
	s.refreshes.Add(1)
	return s.fresh, nil
}

// An OP that rotates a key without naming a new kid (one key and no kid,
// Core §10.1; or a new key under its old kid, as an OP that makes its key
// afresh at each start does) gives no kid to miss: a token that the
// cached key it names, or the one kid-less key, does not verify makes the
// verifier fetch the keys again, once, and the rotated key verifies it. A
// token naming a kid the set lacks never does (that miss is the source's
// own), and a forgery is still refused after the one fetch.
func TestVerifyAfterKeyRotationUnderTheSameKid(t *testing.T) {
	k := keys(t)
	kidless := setHeader("kid", nil)
	sameKid := setHeader("kid", "op-key")
	withKid := map[string]any{"kid": "op-key"}
	tests := []struct {
		name          string
		old, fresh    *jwks.KeySet
		token         string
		wantErr       error
		wantRefreshes int32
	}{
		{name: "no kid, signed with the cached key", token: mint(t, kidless)},
		{name: "no kid, signed with the rotated key", token: mint(t, both(kidless, func(tk *tok) { tk.key = k.rsa2 })), wantRefreshes: 1},
		{name: "no kid, forged", token: tamper(mint(t, both(kidless, func(tk *tok) { tk.key = k.rsa2 }))), wantErr: errBadSignature, wantRefreshes: 1},
		{name: "a kid the set lacks", token: mint(t, both(setHeader("kid", "rsa-2"), func(tk *tok) { tk.key = k.rsa2 })), wantErr: errUnknownKey},
		{
			name: "same kid, signed with the cached key", token: mint(t, sameKid),
			old:   staticKeys(t, pubJWK(t, &k.rsa.PublicKey, withKid)),
			fresh: staticKeys(t, pubJWK(t, &k.rsa2.PublicKey, withKid)),
		},
		{
			name: "same kid, signed with the replaced key", token: mint(t, both(sameKid, func(tk *tok) { tk.key = k.rsa2 })),
			old:   staticKeys(t, pubJWK(t, &k.rsa.PublicKey, withKid)),
			fresh: staticKeys(t, pubJWK(t, &k.rsa2.PublicKey, withKid)), wantRefreshes: 1,
		},
		{
			name: "same kid, forged", token: tamper(mint(t, both(sameKid, func(tk *tok) { tk.key = k.rsa2 }))),
			old:   staticKeys(t, pubJWK(t, &k.rsa.PublicKey, withKid)),
			fresh: staticKeys(t, pubJWK(t, &k.rsa2.PublicKey, withKid)), wantErr: errBadSignature, wantRefreshes: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &rotatedSource{old: tt.old, fresh: tt.fresh}
			if src.old == nil {
				src.old = staticKeys(t, pubJWK(t, &k.rsa.PublicKey, nil))
				src.fresh = staticKeys(t, pubJWK(t, &k.rsa2.PublicKey, nil))
			}
			_, err := newVerifier(t, src).Verify(t.Context(), tt.token)
			if !isErr(err, tt.wantErr) {
				t.Errorf("Verify() = %v, want %v", err, tt.wantErr)
			}
			if got := src.refreshes.Load(); got != tt.wantRefreshes {
				t.Errorf("refreshes = %d, want %d", got, tt.wantRefreshes)
			}
		})
	}
}

func TestVerifyEvent(t *testing.T) {
	v := newVerifier(t, nil)
	iat := testNow.Add(-10 * time.Second)
	tests := []struct {
		name      string
		edit      func(*tok)
		wantUntil time.Time
	}{
		{name: "exp sooner than max age", edit: nil, wantUntil: testNow.Add(2*time.Minute + time.Minute)},
		{name: "no exp", edit: setClaim("exp", nil), wantUntil: iat.Add(5*time.Minute + time.Minute)},
		{name: "exp later than max age", edit: setClaim("exp", float64(testNow.Add(time.Hour).Unix())), wantUntil: iat.Add(5*time.Minute + time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := v.Verify(context.Background(), mint(t, both(setClaim("aud", []any{testClientID, "x"}), func(tk *tok) {
				if tt.edit != nil {
					tt.edit(tk)
				}
			})))
			if err != nil {
				t.Fatal(err)
			}
			if got := rp.AcceptableUntil(ev); !got.Equal(tt.wantUntil) {
				t.Errorf("acceptable until %v, want %v", got, tt.wantUntil)
			}
			if !ev.IssuedAt.Equal(iat) || ev.Subject != "user-1" || ev.SessionID != "session-1" {
				t.Errorf("event = %+v", ev)
			}
			l := ev.Logout
			if l.Issuer != testIssuer || l.Subject != "user-1" || l.SessionID != "session-1" || !l.IssuedAt.Equal(iat) {
				t.Errorf("sessionLogout() = %+v", l)
			}
		})
	}
}

func TestEncrypted(t *testing.T) {
	k := keys(t)
	inner := mint(t, nil)
	sealed := encrypt(t, inner, jwa.RSA_OAEP_256(), &k.enc.PublicKey, "enc-1")
	tests := []struct {
		name    string
		opts    []rp.Option
		token   string
		wantErr error
	}{
		{name: "JWE with keys", token: sealed, opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))}},
		{name: "JWE without kid", token: encrypt(t, inner, jwa.RSA_OAEP(), &k.enc.PublicKey, ""), opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))}},
		{name: "JWE required and given", token: sealed, opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1")), rp.WithRequireEncryption()}},
		{name: "JWE without keys", token: sealed, wantErr: rp.ErrEncryption},
		{name: "JWE with the wrong key", token: encrypt(t, inner, jwa.RSA_OAEP_256(), &k.enc2.PublicKey, "enc-1"), opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))}, wantErr: rp.ErrEncryption},
		{name: "JWE RSA1_5", token: encrypt(t, inner, jwa.RSA1_5(), &k.enc.PublicKey, "enc-1"), opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))}, wantErr: rp.ErrEncryption},
		{name: "JWE with invalid inner token", token: encrypt(t, mint(t, setClaim("nonce", "x")), jwa.RSA_OAEP_256(), &k.enc.PublicKey, "enc-1"), opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))}, wantErr: errNonce},
		{name: "JWE of a non-JWS", token: encrypt(t, "hello", jwa.RSA_OAEP_256(), &k.enc.PublicKey, "enc-1"), opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))}, wantErr: rp.ErrMalformed},
		{name: "plain token, encryption required", token: inner, opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1")), rp.WithRequireEncryption()}, wantErr: rp.ErrEncryption},
		{name: "plain token, keys but not required", token: inner, opts: []rp.Option{rp.WithDecryptionKeys(decryptionSet(t, k.enc, "enc-1"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, nil, tt.opts...)
			_, err := v.Verify(context.Background(), tt.token)
			if !isErr(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewVerifierConfig(t *testing.T) {
	src := &staticSource{set: jwkSetOrNil(t)}
	k := keys(t)
	tests := []struct {
		name     string
		issuer   string
		clientID string
		src      jwks.Source
		opts     []rp.Option
		wantErr  bool
	}{
		{name: "defaults", issuer: testIssuer, clientID: testClientID, src: src},
		{name: "no issuer", clientID: testClientID, src: src, wantErr: true},
		{name: "no client", issuer: testIssuer, src: src, wantErr: true},
		{name: "no keys", issuer: testIssuer, clientID: testClientID, wantErr: true},
		{name: "alg none", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithAlgorithms("none")}, wantErr: true},
		{name: "unknown alg", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithAlgorithms("XS256")}, wantErr: true},
		{name: "HS256 without secret", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithAlgorithms("HS256")}, wantErr: true},
		{name: "secret without HS alg", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithClientSecret([]byte("s"))}, wantErr: true},
		{name: "HS only needs no keys", issuer: testIssuer, clientID: testClientID, opts: []rp.Option{rp.WithAlgorithms("HS256"), rp.WithClientSecret([]byte("s"))}},
		{name: "zero max age", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithMaxAge(0)}, wantErr: true},
		{name: "negative skew", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithClockSkew(-time.Second)}, wantErr: true},
		{name: "nil clock", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithClock(nil)}, wantErr: true},
		{name: "encryption required without keys", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithRequireEncryption()}, wantErr: true},
		{name: "nil decryption keys", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithDecryptionKeys(nil)}, wantErr: true},
		{name: "decryption keys not from a loader", issuer: testIssuer, clientID: testClientID, src: src, opts: []rp.Option{rp.WithDecryptionKeys(&jwks.PrivateSet{})}, wantErr: true},
	}
	// Public decryption keys cannot even be made into the option: the one
	// loader refuses them.
	pub, err := json.Marshal(keySet(t, pubJWK(t, &k.enc.PublicKey, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwks.ParsePrivateSet(pub); err == nil {
		t.Error("public decryption keys accepted")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rp.NewVerifier(tt.issuer, tt.clientID, tt.src, tt.opts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewVerifier() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func jwkSetOrNil(t testing.TB) jwkSet { return defaultSet(t) }
