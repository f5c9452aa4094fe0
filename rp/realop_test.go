package rp_test

import (
	"context"
	"crypto"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/lestrrat-go/jwx/v3/jwe"
)

// realOPDir holds logout tokens captured from real OPs (see its README):
// their exact bytes, which every refactor of the verifier must still accept.
const realOPDir = "../testdata/real-op"

// realOPFixture is one captured token with what its RP was configured with.
type realOPFixture struct {
	name     string
	dir      string
	issuer   string
	clientID string
	alg      string
	token    string
	// expect is what a correct RP does with the token (the fixture's
	// expect file, "accept" without one): "accept", "refuse (algorithm)"
	// (the OP signed it wrongly), or "refuse (exp)" / "refuse (typ)"
	// (accepted by default, refused under WithRequireExp /
	// WithRequireExplicitType).
	expect string
	// decryption is set for clients that registered ID Token encryption.
	decryption *jwks.PrivateSet
	// inner is the signed JWT inside an encrypted token; the token itself
	// otherwise.
	inner  string
	claims map[string]any
}

func (f *realOPFixture) encrypted() bool { return f.decryption != nil }

// acceptedByDefault reports whether an RP with default settings accepts
// the token.
func (f *realOPFixture) acceptedByDefault() bool { return f.expect != "refuse (algorithm)" }

// strict is the option under which an RP refuses a token it accepts by
// default, and the sentinel of that refusal; nil for the others.
func (f *realOPFixture) strict() (rp.Option, error) {
	switch f.expect {
	case "refuse (exp)":
		return rp.WithRequireExp(), errExpMissing
	case "refuse (typ)":
		return rp.WithRequireExplicitType(), errType
	}
	return nil, nil
}

func (f *realOPFixture) iat() time.Time {
	return time.Unix(int64(f.claims["iat"].(float64)), 0)
}

func loadRealOPFixtures(t *testing.T) []*realOPFixture {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(realOPDir, "*", "logout_token.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob(filepath.Join(realOPDir, "*", "*", "logout_token.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*realOPFixture
	for _, p := range append(dirs, more...) {
		dir := filepath.Dir(p)
		name, _ := filepath.Rel(realOPDir, dir)
		f := &realOPFixture{name: filepath.ToSlash(name), dir: dir}
		f.token = readFixture(t, dir, "logout_token.jwt")
		f.clientID = readFixture(t, dir, "client_id")
		f.alg = "RS256" // the registration default (Core §3.1.3.7): Hydra's client registered none
		if fileExists(filepath.Join(dir, "alg")) {
			f.alg = readFixture(t, dir, "alg")
		}
		f.expect = "accept"
		if fileExists(filepath.Join(dir, "expect")) {
			f.expect = readFixture(t, dir, "expect")
		}
		switch f.expect {
		case "accept", "refuse (algorithm)", "refuse (exp)", "refuse (typ)":
		default:
			t.Fatalf("%s: unknown expectation %q", f.name, f.expect)
		}
		var disc struct {
			Issuer string `json:"issuer"`
		}
		if err := json.Unmarshal([]byte(readFixture(t, dir, "openid-configuration.json")), &disc); err != nil || disc.Issuer == "" {
			t.Fatalf("%s: discovery document: %v", f.name, err)
		}
		f.issuer = disc.Issuer
		f.inner = f.token
		if keyFile := filepath.Join(dir, "rp-decryption-keys.json"); fileExists(keyFile) {
			if f.decryption, err = jwks.ParsePrivateSet([]byte(readFixture(t, dir, "rp-decryption-keys.json"))); err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			f.inner = openJWE(t, f.token, f.decryption)
		}
		parts := strings.Split(f.inner, ".")
		if len(parts) != 3 {
			t.Fatalf("%s: inner token has %d parts", f.name, len(parts))
		}
		payload, err := b64dec(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(payload, &f.claims); err != nil {
			t.Fatalf("%s: payload: %v", f.name, err)
		}
		out = append(out, f)
	}
	// Hydra, the six node oidc-provider clients and Glewlwyd's 24 tokens
	// of the README.
	if len(out) != 31 {
		t.Fatalf("found %d real-OP fixtures under %s, want 31", len(out), realOPDir)
	}
	return out
}

// readFixture returns a fixture file without its final newline: the files
// hold one value each, written with a trailing newline.
func readFixture(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// lookupKeyID returns the private key of set with kid, or nil.
func lookupKeyID(set *jwks.PrivateSet, kid string) crypto.PrivateKey {
	for k, priv := range set.All() {
		if k.KeyID() == kid {
			return priv
		}
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openJWE decrypts a compact JWE outside rp, so the test can read its iat
// and re-encrypt a tampered inner token.
func openJWE(t *testing.T, compact string, set *jwks.PrivateSet) string {
	t.Helper()
	msg, err := jwe.Parse([]byte(compact))
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := msg.ProtectedHeaders().KeyID()
	alg, _ := msg.ProtectedHeaders().Algorithm()
	priv := lookupKeyID(set, kid)
	if priv == nil {
		t.Fatalf("no decryption key %q", kid)
	}
	plain, err := jwe.Decrypt([]byte(compact), jwe.WithKey(alg, priv))
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}

// sealJWE encrypts jws to the public half of the fixture's decryption key,
// with the key management algorithm and kid of the captured token.
func sealJWE(t *testing.T, f *realOPFixture, jws string) string {
	t.Helper()
	msg, err := jwe.Parse([]byte(f.token))
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := msg.ProtectedHeaders().KeyID()
	alg, _ := msg.ProtectedHeaders().Algorithm()
	priv, _ := lookupKeyID(f.decryption, kid).(interface{ Public() crypto.PublicKey })
	if priv == nil {
		t.Fatalf("no decryption key %q", kid)
	}
	return encrypt(t, jws, alg, priv.Public(), kid)
}

// verifier is what the fixture's RP would configure: the OP's static keys,
// issuer and client ID, the registered algorithm, its decryption keys, and
// a clock frozen at the token's iat; extra options come last.
func (f *realOPFixture) verifier(t *testing.T, extra ...rp.Option) *rp.Verifier {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.ParseKeySet(b)
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	iat := f.iat()
	opts := []rp.Option{rp.WithAlgorithms(f.alg), rp.WithClock(func() time.Time { return iat })}
	if f.encrypted() {
		opts = append(opts, rp.WithDecryptionKeys(f.decryption), rp.WithRequireEncryption())
	}
	v, err := rp.NewVerifier(f.issuer, f.clientID, keys, append(opts, extra...)...)
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return v
}

// TestRealOPTokens validates every captured token through the public API,
// as the RP that received it would have: accepted, or refused with the
// sentinel of the check the OP's mistake breaks, or refused only under the
// strict option the fixture names.
func TestRealOPTokens(t *testing.T) {
	for _, f := range loadRealOPFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			ev, err := f.verifier(t).Verify(context.Background(), f.token)
			if !f.acceptedByDefault() {
				// rp-dyn-es256: the client registered ES256, the OP signed
				// RS256. rp-algprop-ps256: PS256 with a key whose JWK says
				// alg RS256 (RFC 8725 §3.1).
				if !isErr(err, errAlgorithm) {
					t.Fatalf("Verify error = %v, want %v", err, errAlgorithm)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if opt, want := f.strict(); opt != nil {
				if _, err := f.verifier(t, opt).Verify(context.Background(), f.token); !isErr(err, want) {
					t.Errorf("strict Verify error = %v, want %v", err, want)
				}
			}
			sub, _ := f.claims["sub"].(string)
			sid, _ := f.claims["sid"].(string)
			if ev.Issuer != f.issuer || ev.JTI != f.claims["jti"] || ev.Subject != sub || ev.SessionID != sid {
				t.Errorf("event = %+v, want iss %q jti %v sub %q sid %q", ev, f.issuer, f.claims["jti"], sub, sid)
			}
			if !ev.IssuedAt.Equal(f.iat()) {
				t.Errorf("IssuedAt = %v, want %v", ev.IssuedAt, f.iat())
			}
		})
	}
}

func TestRealOPTokensThroughHandler(t *testing.T) {
	for _, f := range loadRealOPFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			if !f.acceptedByDefault() {
				env := newHandlerEnv(t, f.verifier(t))
				checkAnswer(t, post(env.h, formBody(f.token)), http.StatusBadRequest, "invalid_request")
				if len(env.rejected) != 1 || !isErr(env.rejected[0], errAlgorithm) {
					t.Errorf("handler rejected with %v, want %v", env.rejected, errAlgorithm)
				}
				return
			}
			if opt, want := f.strict(); opt != nil {
				env := newHandlerEnv(t, f.verifier(t, opt))
				checkAnswer(t, post(env.h, formBody(f.token)), http.StatusBadRequest, "invalid_request")
				if len(env.rejected) != 1 || !isErr(env.rejected[0], want) {
					t.Errorf("strict handler rejected with %v, want %v", env.rejected, want)
				}
			}
			iat := f.iat()
			now := func() time.Time { return iat }
			sessions, err := sessionadapter.NewMemory(sessionadapter.WithClock(now))
			if err != nil {
				t.Fatal(err)
			}
			// The session the OP's logout names: by sid when it sends one,
			// else every session of the user.
			sub, _ := f.claims["sub"].(string)
			if sub == "" {
				sub = "user-of-" + f.name
			}
			sid, _ := f.claims["sid"].(string)
			if err := sessions.Bind(context.Background(), sessionadapter.Binding{
				Issuer: f.issuer, Subject: sub, SessionID: sid, LocalID: "local-1",
				LoginTime: iat.Add(-time.Minute),
			}); err != nil {
				t.Fatal(err)
			}
			cache := clockCache(now)
			ended := -1
			h, err := rp.NewHandler(f.verifier(t), sessions, rp.WithReplayCache(cache), rp.WithLogger(quietLogger()),
				rp.WithOnLogout(func(_ context.Context, _ *rp.LogoutEvent, n int) { ended = n }))
			if err != nil {
				t.Fatal(err)
			}
			w := post(h, formBody(f.token))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			if ended != 1 {
				t.Errorf("sessions ended = %d, want 1", ended)
			}
			// The OP's exact bytes a second time: a replay.
			checkAnswer(t, post(h, formBody(f.token)), http.StatusBadRequest, "invalid_request")
		})
	}
}

// tamperedCopy is one way to alter a captured token and the sentinel its
// rejection must carry.
type tamperedCopy struct {
	name string
	want error
	edit func(t *testing.T, f *realOPFixture) string
}

// flipB64 flips one bit of the decoded segment at byte i (from the end when
// negative) and re-encodes it.
func flipB64(t *testing.T, seg string, i int) string {
	t.Helper()
	b, err := b64dec(seg)
	if err != nil {
		t.Fatal(err)
	}
	if i < 0 {
		i += len(b)
	}
	b[i] ^= 0x01
	return b64(b)
}

// withSegment returns compact with segment i replaced.
func withSegment(compact string, i int, seg string) string {
	parts := strings.Split(compact, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

// changeJTI changes one byte of the jti value inside the payload's own JSON,
// so the payload stays valid JSON and the claims stay valid.
func changeJTI(t *testing.T, jws string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	payload, err := b64dec(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(payload), `"jti":"`)
	if i < 0 {
		t.Fatal("no jti in payload")
	}
	i += len(`"jti":"`)
	if payload[i] == 'A' {
		payload[i] = 'B'
	} else {
		payload[i] = 'A'
	}
	return withSegment(jws, 1, b64(payload))
}

// signedTampers alter a signed (inner) token; each must fail its check.
var signedTampers = []tamperedCopy{
	{"signature byte flipped", errBadSignature, func(t *testing.T, f *realOPFixture) string {
		return withSegment(f.inner, 2, flipB64(t, strings.Split(f.inner, ".")[2], 10))
	}},
	{"signature last byte flipped", errBadSignature, func(t *testing.T, f *realOPFixture) string {
		return withSegment(f.inner, 2, flipB64(t, strings.Split(f.inner, ".")[2], -1))
	}},
	{"signature removed", errBadSignature, func(t *testing.T, f *realOPFixture) string {
		return withSegment(f.inner, 2, "")
	}},
	{"payload byte changed", errBadSignature, func(t *testing.T, f *realOPFixture) string {
		return changeJTI(t, f.inner)
	}},
	{"header re-encoded with the same members", errBadSignature, func(t *testing.T, f *realOPFixture) string {
		h, _ := b64dec(strings.Split(f.inner, ".")[0])
		return withSegment(f.inner, 0, b64(append(h, ' ')))
	}},
	{"kid unknown to the OP", errUnknownKey, func(t *testing.T, f *realOPFixture) string {
		h, _ := b64dec(strings.Split(f.inner, ".")[0])
		var m map[string]any
		if err := json.Unmarshal(h, &m); err != nil {
			t.Fatal(err)
		}
		m["kid"] = "not-" + m["kid"].(string)
		return withSegment(f.inner, 0, jsonB64(t, m))
	}},
	{"alg none", errAlgorithm, func(t *testing.T, f *realOPFixture) string {
		h, _ := b64dec(strings.Split(f.inner, ".")[0])
		var m map[string]any
		if err := json.Unmarshal(h, &m); err != nil {
			t.Fatal(err)
		}
		m["alg"] = "none"
		return withSegment(withSegment(f.inner, 0, jsonB64(t, m)), 2, "")
	}},
	{"payload not base64url", rp.ErrMalformed, func(t *testing.T, f *realOPFixture) string {
		return withSegment(f.inner, 1, strings.Split(f.inner, ".")[1]+"=")
	}},
}

// encryptedTampers alter the JWE around an encrypted token.
var encryptedTampers = []tamperedCopy{
	{"ciphertext byte flipped", rp.ErrEncryption, func(t *testing.T, f *realOPFixture) string {
		return withSegment(f.token, 3, flipB64(t, strings.Split(f.token, ".")[3], 5))
	}},
	{"tag byte flipped", rp.ErrEncryption, func(t *testing.T, f *realOPFixture) string {
		return withSegment(f.token, 4, flipB64(t, strings.Split(f.token, ".")[4], 0))
	}},
	{"iv byte flipped", rp.ErrEncryption, func(t *testing.T, f *realOPFixture) string {
		return withSegment(f.token, 2, flipB64(t, strings.Split(f.token, ".")[2], 0))
	}},
	{"protected header changed", rp.ErrEncryption, func(t *testing.T, f *realOPFixture) string {
		h, _ := b64dec(strings.Split(f.token, ".")[0])
		return withSegment(f.token, 0, b64(append(h, ' ')))
	}},
	{"inner token sent unencrypted", rp.ErrEncryption, func(t *testing.T, f *realOPFixture) string {
		return f.inner
	}},
	{"inner signature flipped and re-encrypted", errBadSignature, func(t *testing.T, f *realOPFixture) string {
		return sealJWE(t, f, withSegment(f.inner, 2, flipB64(t, strings.Split(f.inner, ".")[2], 10)))
	}},
	{"inner payload changed and re-encrypted", errBadSignature, func(t *testing.T, f *realOPFixture) string {
		return sealJWE(t, f, changeJTI(t, f.inner))
	}},
}

// TestRealOPTokensTampered refuses every altered copy of a captured token
// that an RP accepts by default, with the sentinel of the check it breaks,
// in Verify and in the Handler.
func TestRealOPTokensTampered(t *testing.T) {
	for _, f := range loadRealOPFixtures(t) {
		if !f.acceptedByDefault() {
			continue
		}
		tampers := signedTampers
		if f.encrypted() {
			// Signed tampers are sealed again so they reach the inner checks.
			tampers = append([]tamperedCopy(nil), encryptedTampers...)
			for _, tc := range signedTampers {
				edit := tc.edit
				tampers = append(tampers, tamperedCopy{"re-encrypted, " + tc.name, tc.want, func(t *testing.T, f *realOPFixture) string {
					return sealJWE(t, f, edit(t, f))
				}})
			}
		}
		v := f.verifier(t)
		for _, tc := range tampers {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				bad := tc.edit(t, f)
				if bad == f.token {
					t.Fatal("tampered copy equals the original")
				}
				_, err := v.Verify(context.Background(), bad)
				if !isErr(err, tc.want) {
					t.Fatalf("Verify error = %v, want %v", err, tc.want)
				}
				env := newHandlerEnv(t, v)
				checkAnswer(t, post(env.h, formBody(bad)), http.StatusBadRequest, "invalid_request")
				if len(env.rejected) != 1 || !isErr(env.rejected[0], tc.want) {
					t.Errorf("handler rejected with %v, want %v", env.rejected, tc.want)
				}
			})
		}
	}
}
