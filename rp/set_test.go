package rp_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
)

var (
	setKeyOnce sync.Once
	setKey     *opkit.Key
)

// setVerifier returns a SET verifier for transmitter iss and receiver aud
// over one RSA key, and that key.
func setVerifier(t testing.TB, iss, aud string) (*rp.Verifier, *opkit.Key) {
	t.Helper()
	setKeyOnce.Do(func() {
		var err error
		if setKey, err = opkit.GenerateKey("RS256", "set-1"); err != nil {
			panic(err)
		}
	})
	set, err := jwks.ParseKeySet(opkit.JWKS(setKey.PublicJWK()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := rp.NewVerifier(iss, aud, set, rp.WithAlgorithms("RS256", "ES256"))
	if err != nil {
		t.Fatal(err)
	}
	return v, setKey
}

// specSET re-signs a payload from a specification with the test key,
// giving it a fresh iat: the examples' own iat are years old.
func specSET(t *testing.T, k *opkit.Key, payload string) *opkit.Token {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		t.Fatal(err)
	}
	c["iat"] = time.Now().Unix()
	return &opkit.Token{Header: map[string]any{"typ": "secevent+jwt"}, Claims: c}
}

func signSET(t *testing.T, k *opkit.Key, tok *opkit.Token) string {
	t.Helper()
	s, err := tok.Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The examples of the specifications, re-signed: RFC 8417 §2.1.1, CAEP
// 1.0 §3.1 (session-revoked), RISC 1.0 §2.4 (account-disabled) and
// Google's Cross-Account Protection token as its documentation shows it.
func TestVerifySETSpecExamples(t *testing.T) {
	tests := []struct {
		name, iss, aud, payload string
		wantType                string
		wantSubject             map[string]any
	}{
		{
			name: "RFC 8417 §2.1.1 SCIM create",
			iss:  "https://scim.example.com", aud: "https://scim.example.com/Feeds/98d52461fa5bbc879593b7754",
			payload: `{"jti":"4d3559ec67504aaba65d40b0363faad8","iat":1458496404,
			"iss":"https://scim.example.com",
			"aud":["https://scim.example.com/Feeds/98d52461fa5bbc879593b7754","https://scim.example.com/Feeds/5d7604516b1d08641d7676ee7"],
			"events":{"urn:ietf:params:scim:event:create":{"ref":"https://scim.example.com/Users/44f6142df96bd6ab61e7521d9","attributes":["id","name","userName","password","emails"]}}}`,
			wantType: "urn:ietf:params:scim:event:create",
		},
		{
			name: "CAEP session-revoked, SSF 1.0 sub_id",
			iss:  "https://idp.example.com/123456789/", aud: "https://sp.example.com/caep",
			payload: `{"iss":"https://idp.example.com/123456789/","jti":"24c63fb56e5a2d77a6b512616ca9fa24","iat":1615305159,
			"aud":"https://sp.example.com/caep","txn":8675309,
			"sub_id":{"format":"opaque","id":"dMTlD|1600802906337.16|16008.16"},
			"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{"event_timestamp":1615304991643}}}`,
			wantType:    "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
			wantSubject: map[string]any{"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"},
		},
		{
			name: "CAEP session-revoked, complex subject in the event",
			iss:  "https://idp.example.com/123456789/", aud: "https://sp.example.com/caep",
			payload: `{"iss":"https://idp.example.com/123456789/","jti":"24c63fb56e5a2d77a6b512616ca9fa24","iat":1615305159,
			"aud":"https://sp.example.com/caep",
			"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{
			"subject":{"session":{"format":"opaque","id":"dMTlD|1600802906337.16|16008.16"},
			"user":{"format":"iss_sub","iss":"https://idp.example.com/123456789/","sub":"dMTlD|1600802906337.16|16008.16"},
			"tenant":{"format":"opaque","id":"123456789"}},
			"initiating_entity":"policy","reason_admin":{"en":"Landspeed Policy Violation: C076E82F"},
			"event_timestamp":1615304991643}}}`,
			wantType: "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
		},
		{
			name: "RISC account-disabled",
			iss:  "https://idp.example.com/", aud: "https://sp.example.com/risc",
			payload: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696572","iat":1508184845,
			"aud":"https://sp.example.com/risc",
			"events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{
			"subject":{"format":"iss_sub","iss":"https://idp.example.com/","sub":"7375626A656374"},"reason":"hijacking"}}}`,
			wantType:    "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
			wantSubject: map[string]any{"format": "iss_sub", "iss": "https://idp.example.com/", "sub": "7375626A656374"},
		},
		{
			name: "Google Cross-Account Protection sessions-revoked",
			iss:  "https://accounts.google.com/", aud: "123456789-abcedfgh.apps.googleusercontent.com",
			payload: `{"iss":"https://accounts.google.com/","aud":"123456789-abcedfgh.apps.googleusercontent.com",
			"iat":1508184845,"jti":"756E69717565206964656E746966696572",
			"events":{"https://schemas.openid.net/secevent/risc/event-type/sessions-revoked":{
			"subject":{"subject_type":"iss-sub","iss":"https://accounts.google.com/","sub":"7375626A656374"}}}}`,
			wantType:    "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
			wantSubject: map[string]any{"subject_type": "iss-sub", "iss": "https://accounts.google.com/", "sub": "7375626A656374"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, k := setVerifier(t, tt.iss, tt.aud)
			ev, err := v.VerifySET(context.Background(), signSET(t, k, specSET(t, k, tt.payload)))
			if err != nil {
				t.Fatalf("VerifySET: %v", err)
			}
			if ev.Type != tt.wantType || ev.JTI == "" || ev.Event == nil {
				t.Fatalf("event %+v", ev)
			}
			if tt.wantSubject != nil {
				got, _ := json.Marshal(ev.Subject)
				want, _ := json.Marshal(tt.wantSubject)
				if string(got) != string(want) {
					t.Fatalf("subject %s, want %s", got, want)
				}
			}
		})
	}
}

// Hostile SETs, each refused by the rule that names it.
func TestVerifySETRefuses(t *testing.T) {
	const iss, aud = "https://tr.example.com", "https://rp.example.com/ssf"
	v, k := setVerifier(t, iss, aud)
	good := func() *opkit.Token {
		return opkit.NewSET(iss, aud, time.Now(), opkit.CAEPSessionRevoked, map[string]any{
			"subject": map[string]any{"format": "iss_sub", "iss": iss, "sub": "u1"},
		})
	}
	if _, err := v.VerifySET(context.Background(), signSET(t, k, good())); err != nil {
		t.Fatalf("good SET: %v", err)
	}
	logoutToken := opkit.NewLogoutToken(iss, aud, time.Now())
	tests := []struct {
		name    string
		raw     func() string
		wantErr error
	}{
		{"logout token (typ logout+jwt)", func() string { return signSET(t, k, logoutToken) }, rp.ErrMalformed},
		{"logout token without typ", func() string {
			lt := logoutToken.Clone()
			delete(lt.Header, "typ")
			return signSET(t, k, lt)
		}, rp.ErrClaims},
		{"wrong aud", func() string { s := good(); s.Claims["aud"] = "https://other.example.com"; return signSET(t, k, s) }, rp.ErrAudience},
		{"no aud", func() string { s := good(); delete(s.Claims, "aud"); return signSET(t, k, s) }, rp.ErrAudience},
		{"wrong iss", func() string { s := good(); s.Claims["iss"] = iss + "/"; return signSET(t, k, s) }, rp.ErrIssuer},
		{"two events", func() string {
			s := good()
			s.Claims["events"].(map[string]any)[opkit.RISCSessionsRevoked] = map[string]any{}
			return signSET(t, k, s)
		}, rp.ErrClaims},
		{"no events", func() string { s := good(); delete(s.Claims, "events"); return signSET(t, k, s) }, rp.ErrClaims},
		{"event not an object", func() string {
			s := good()
			s.Claims["events"] = map[string]any{opkit.CAEPSessionRevoked: true}
			return signSET(t, k, s)
		}, rp.ErrClaims},
		{"sub_id not an object", func() string { s := good(); s.Claims["sub_id"] = "u1"; return signSET(t, k, s) }, rp.ErrClaims},
		{"no jti", func() string { s := good(); delete(s.Claims, "jti"); return signSET(t, k, s) }, rp.ErrClaims},
		{"iat older than the acceptance window", func() string {
			s := good()
			s.Claims["iat"] = time.Now().Add(-25 * time.Hour).Unix()
			return signSET(t, k, s)
		}, rp.ErrTime},
		{"future iat", func() string {
			s := good()
			s.Claims["iat"] = time.Now().Add(time.Hour).Unix()
			return signSET(t, k, s)
		}, rp.ErrTime},
		{"no iat", func() string { s := good(); delete(s.Claims, "iat"); return signSET(t, k, s) }, rp.ErrTime},
		{"past exp", func() string {
			s := good()
			s.Claims["exp"] = time.Now().Add(-time.Hour).Unix()
			return signSET(t, k, s)
		}, rp.ErrTime},
		{"tampered", func() string { return opkit.Tamper(signSET(t, k, good())) }, rp.ErrSignature},
		{"alg none", func() string { return good().Unsigned() }, rp.ErrSignature},
		{"HS256 with the public key", func() string {
			s, _ := good().SignHMAC("HS256", []byte("secret"))
			return s
		}, rp.ErrSignature},
		{"jwk header", func() string { s := good(); s.Header["jwk"] = setKey.PublicJWK(); return signSET(t, k, s) }, rp.ErrSignature},
		{"typ twice", func() string {
			good := signSET(t, k, good())
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"set-1","typ":"secevent+jwt","typ":"JWT"}`))
			return h + good[strings.Index(good, "."):]
		}, rp.ErrMalformed},
		{"encrypted", func() string { return "a.b.c.d.e" }, rp.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.VerifySET(context.Background(), tt.raw())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// googleSET is a RISC sessions-revoked SET shaped as Google's
// Cross-Account Protection sends it, issued at iat, with header typ typ
// (none when typ is "").
func googleSET(iat time.Time, typ string) *opkit.Token {
	const iss = "https://accounts.google.com/"
	s := opkit.NewSET(iss, "123456789-abcedfgh.apps.googleusercontent.com", iat, opkit.RISCSessionsRevoked, map[string]any{
		"subject": map[string]any{"subject_type": "iss-sub", "iss": iss, "sub": "7375626A656374"},
	})
	delete(s.Header, "typ")
	if typ != "" {
		s.Header["typ"] = typ
	}
	return s
}

// A SET is taken with or without its explicit type, since whether
// Google's RISC SETs carry it is documented nowhere (Google's validation
// samples never read typ); a typ that names another kind of token is
// refused.
func TestVerifySETType(t *testing.T) {
	v, k := setVerifier(t, "https://accounts.google.com/", "123456789-abcedfgh.apps.googleusercontent.com")
	tests := []struct {
		name, typ string
		wantErr   error
	}{
		{"no typ", "", nil},
		{"secevent+jwt", "secevent+jwt", nil},
		{"application/secevent+jwt", "application/secevent+jwt", nil},
		{"upper case", "Application/SecEvent+JWT", nil},
		{"JWT, which names no kind", "JWT", nil},
		{"application/jwt", "application/jwt", nil},
		{"logout+jwt", "logout+jwt", rp.ErrMalformed},
		{"application/logout+jwt", "application/logout+jwt", rp.ErrMalformed},
		{"at+jwt", "at+jwt", rp.ErrMalformed},
		{"token-introspection+jwt", "token-introspection+jwt", rp.ErrMalformed},
		{"secevent+jwe", "secevent+jwe", rp.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := v.VerifySET(context.Background(), signSET(t, k, googleSET(time.Now(), tt.typ)))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && ev.Type != opkit.RISCSessionsRevoked {
				t.Fatalf("event %+v", ev)
			}
		})
	}
}

// Without typ, the claims keep other tokens of the same issuer and
// audience out (RFC 8417 §4.3): an ID token has no events, a logout token
// holds the back-channel logout event, and neither is taken for a SET
// whatever its typ.
func TestVerifySETRefusesOtherKinds(t *testing.T) {
	const iss, aud = "https://op.example.com", "client-1"
	v, k := setVerifier(t, iss, aud)
	now := time.Now()
	idToken := func(typ string) func() *opkit.Token {
		return func() *opkit.Token {
			tok := &opkit.Token{Header: map[string]any{}, Claims: map[string]any{
				"iss": iss, "aud": aud, "sub": "user-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
				"nonce": "n-0S6_WzA2Mj", "jti": "id-1",
			}}
			if typ != "" {
				tok.Header["typ"] = typ
			}
			return tok
		}
	}
	logoutToken := func(typ string) func() *opkit.Token {
		return func() *opkit.Token {
			tok := opkit.NewLogoutToken(iss, aud, now)
			delete(tok.Header, "typ")
			if typ != "" {
				tok.Header["typ"] = typ
			}
			return tok
		}
	}
	tests := []struct {
		name    string
		tok     func() *opkit.Token
		wantErr error
	}{
		{"ID token without typ", idToken(""), rp.ErrClaims},
		{"ID token, typ JWT", idToken("JWT"), rp.ErrClaims},
		{"ID token without nonce", func() *opkit.Token {
			tok := idToken("JWT")()
			delete(tok.Claims, "nonce")
			return tok
		}, rp.ErrClaims},
		{"logout token, typ logout+jwt", logoutToken("logout+jwt"), rp.ErrMalformed},
		{"logout token without typ", logoutToken(""), rp.ErrClaims},
		{"logout token, typ JWT", logoutToken("JWT"), rp.ErrClaims},
		{"logout token as Keycloak sends it", func() *opkit.Token {
			tok := logoutToken("JWT")()
			tok.Claims["events"].(map[string]any)["revoke_offline_access"] = true
			return tok
		}, rp.ErrClaims},
		{"logout token typed as a SET", logoutToken("secevent+jwt"), rp.ErrClaims},
		{"SET with a nonce", func() *opkit.Token {
			tok := googleSET(now, "")
			tok.Claims["iss"], tok.Claims["aud"] = iss, aud
			tok.Claims["nonce"] = "n-0S6_WzA2Mj"
			return tok
		}, rp.ErrClaims},
		{"SET with an empty events object", func() *opkit.Token {
			tok := googleSET(now, "")
			tok.Claims["iss"], tok.Claims["aud"] = iss, aud
			tok.Claims["events"] = map[string]any{}
			return tok
		}, rp.ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.VerifySET(context.Background(), signSET(t, k, tt.tok()))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// A SET is accepted long after its iat, so that a transmitter's
// redelivery after the receiver's outage still lands, and AcceptableUntil
// is the end of that window: the receiver keeps the jti until then.
func TestVerifySETAcceptanceWindow(t *testing.T) {
	const iss, aud = "https://accounts.google.com/", "123456789-abcedfgh.apps.googleusercontent.com"
	_, k := setVerifier(t, iss, aud)
	set, err := jwks.ParseKeySet(opkit.JWKS(k.PublicJWK()))
	if err != nil {
		t.Fatal(err)
	}
	iat := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name      string
		exp       time.Duration // after iat; 0 for none
		now       time.Duration // after iat
		wantErr   error
		wantUntil time.Duration // AcceptableUntil after iat
	}{
		{name: "fresh", now: time.Second, wantUntil: 24*time.Hour + time.Minute},
		{name: "30 minutes old", now: 30 * time.Minute, wantUntil: 24*time.Hour + time.Minute},
		{name: "23 hours old", now: 23 * time.Hour, wantUntil: 24*time.Hour + time.Minute},
		{name: "at the end of the window", now: 24*time.Hour + time.Minute, wantUntil: 24*time.Hour + time.Minute},
		{name: "just past the window", now: 24*time.Hour + time.Minute + time.Second, wantErr: rp.ErrTime},
		{name: "25 hours old", now: 25 * time.Hour, wantErr: rp.ErrTime},
		{name: "issued in the future beyond the skew", now: -2 * time.Minute, wantErr: rp.ErrTime},
		{name: "an exp shortens the window", exp: time.Hour, now: 30 * time.Minute, wantUntil: time.Hour + time.Minute},
		{name: "past its exp", exp: time.Hour, now: time.Hour + 2*time.Minute, wantErr: rp.ErrTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := rp.NewVerifier(iss, aud, set, rp.WithClock(func() time.Time { return iat.Add(tt.now) }))
			if err != nil {
				t.Fatal(err)
			}
			s := googleSET(iat, "")
			if tt.exp != 0 {
				s.Claims["exp"] = iat.Add(tt.exp).Unix()
			}
			ev, err := v.VerifySET(context.Background(), signSET(t, k, s))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && !rp.SETAcceptableUntil(ev).Equal(iat.Add(tt.wantUntil)) {
				t.Fatalf("AcceptableUntil %v, want iat+%v", rp.SETAcceptableUntil(ev), tt.wantUntil)
			}
		})
	}
}

// forgedSET is a SET of nearly 64 KiB, the most a receiver reads, as
// anyone can post one: header, then a payload that is one array of empty
// objects (one map per three bytes, were it decoded), then a signature
// of 256 random-looking bytes.
func forgedSET(t testing.TB, header string) string {
	t.Helper()
	prefix := `{"iss":"https://tr.example.com","aud":"https://rp.example.com/ssf","x":[{}`
	n := (rp.MaxTokenBytes*3/4 - len(header) - 400 - len(prefix)) / 3
	payload := prefix + strings.Repeat(",{}", n) + `]}`
	raw := b64([]byte(header)) + "." + b64([]byte(payload)) + "." + b64([]byte(strings.Repeat("sig!", 64)))
	if len(raw) > rp.MaxTokenBytes || len(raw) < rp.MaxTokenBytes-1024 {
		t.Fatalf("forged SET of %d bytes", len(raw))
	}
	return raw
}

// A SET that is not signed by the transmitter is refused before its
// payload is decoded: whatever JSON an anonymous sender packs into 64 KiB,
// refusing it allocates about the token's size once, not a map per
// member.
func TestVerifySETRefusesForgeryBeforeDecoding(t *testing.T) {
	const iss, aud = "https://tr.example.com", "https://rp.example.com/ssf"
	single, _ := setVerifier(t, iss, aud)
	other, _ := setVerifier(t, "https://other.example.com", aud)
	joined, err := rp.Join(single, other)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		v       *rp.Verifier
		header  string
		wantErr error
	}{
		{"forged signature", single, `{"alg":"RS256","kid":"set-1","typ":"secevent+jwt"}`, rp.ErrSignature},
		{"forged signature, no typ", single, `{"alg":"RS256","kid":"set-1"}`, rp.ErrSignature},
		{"forged signature, several transmitters", joined, `{"alg":"RS256","kid":"set-1"}`, rp.ErrSignature},
		{"unknown kid", single, `{"alg":"RS256","kid":"nobody"}`, rp.ErrSignature},
		{"alg none", single, `{"alg":"none"}`, rp.ErrSignature},
		{"alg not allowed", single, `{"alg":"HS256"}`, rp.ErrSignature},
		{"broken header", single, `{"alg":"RS256",`, rp.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := forgedSET(t, tt.header)
			ctx := context.Background()
			if _, err := tt.v.VerifySET(ctx, raw); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const runs = 20
			allocs := testing.AllocsPerRun(runs, func() { _, _ = tt.v.VerifySET(ctx, raw) })
			runtime.ReadMemStats(&after)
			perRun := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
			// The signing input is copied once for the signature check,
			// and with several transmitters the payload is decoded once
			// to read its iss; the rest is the header and the key.
			t.Logf("%.0f allocations, %d bytes", allocs, perRun)
			if allocs > 60 || perRun > 3*rp.MaxTokenBytes {
				t.Fatalf("refusing a forged %d-byte SET made %.0f allocations of %d bytes in all", len(raw), allocs, perRun)
			}
		})
	}
}

// BenchmarkVerifySETForged is the refusal of a forged 64 KiB SET; its
// baseline, the raw RS256 check of the same signing input, is what no
// refusal can avoid, so the ratio (time and bytes) is VerifySET's own cost.
func BenchmarkVerifySETForged(b *testing.B) {
	v, _ := setVerifier(b, "https://tr.example.com", "https://rp.example.com/ssf")
	raw := forgedSET(b, `{"alg":"RS256","kid":"set-1","typ":"secevent+jwt"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifySET(ctx, raw); !errors.Is(err, rp.ErrSignature) {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineSETForged(b *testing.B) {
	_, k := setVerifier(b, "https://tr.example.com", "https://rp.example.com/ssf")
	raw := forgedSET(b, `{"alg":"RS256","kid":"set-1","typ":"secevent+jwt"}`)
	i := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := k.Signer.Public().(*rsa.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(raw[:i]))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil {
			b.Fatal("forged signature verified")
		}
	}
}

// FuzzVerifySET: whatever a transmitter pushes, VerifySET returns either an
// event or an error of one of rp's classes, never both, never a panic.
func FuzzVerifySET(f *testing.F) {
	const iss, aud = "https://transmitter.example", "https://receiver.example"
	k, err := opkit.GenerateKey("RS256", "set-fuzz")
	if err != nil {
		f.Fatal(err)
	}
	set, err := jwks.ParseKeySet(opkit.JWKS(k.PublicJWK()))
	if err != nil {
		f.Fatal(err)
	}
	v, err := rp.NewVerifier(iss, aud, set)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := opkit.NewSET(iss, aud, time.Now(), opkit.CAEPSessionRevoked, map[string]any{
		"subject": map[string]any{"format": "iss_sub", "iss": iss, "sub": "alice"},
	}).Sign(k)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{valid, opkit.Tamper(valid), "", "..", "e30.e30.", "a.b.c.d.e"} {
		f.Add(s)
	}
	classes := []error{rp.ErrMalformed, rp.ErrSignature, rp.ErrEncryption, rp.ErrIssuer, rp.ErrAudience, rp.ErrTime, rp.ErrClaims, rp.ErrTemporary}
	f.Fuzz(func(t *testing.T, raw string) {
		ev, err := v.VerifySET(context.Background(), raw)
		if err == nil {
			if ev == nil {
				t.Fatal("no event and no error")
			}
			return
		}
		if ev != nil {
			t.Fatalf("an event with error %v", err)
		}
		for _, c := range classes {
			if errors.Is(err, c) {
				return
			}
		}
		t.Fatalf("error of no class: %v", err)
	})
}
