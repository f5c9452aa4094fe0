package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/spec"
)

// The OpenID conformance suite's back-channel RP tests
// (openid-certification/conformance-suite,
// net/openid/conformance/openid/client/logout/OIDCCClientTestBackChannelLogout*.java)
// are an OP that logs the RP in and then POSTs one logout token per test.
// conformanceOP mimics what those tests publish and send, so that receive,
// started with nothing but --issuer and --client-id, is checked against an
// OP it knows nothing about in advance.

// conformanceAlgs is the suite's id_token_signing_alg_values_supported:
// "none" and every JWS algorithm. An RP that accepted all of it would take
// the "wrong alg" token signed with the OP's genuine EC key.
var conformanceAlgs = []string{
	"none",
	"HS256", "HS384", "HS512",
	"RS256", "RS384", "RS512",
	"ES256", "ES384", "ES512",
	"PS256", "PS384", "PS512",
	"EdDSA",
}

const conformanceClientID = "conformance-client"

type conformanceOP struct {
	issuer   string
	rsa      *opkit.Key // RS256, the client's registered (default) algorithm
	ec       *opkit.Key // ES256 on P-256, genuinely the OP's but not for this client
	attacker *opkit.Key // in no JWKS the RP is told about
	enc      *opkit.EncryptionKey
}

func newConformanceOP(t *testing.T) *conformanceOP {
	t.Helper()
	op := &conformanceOP{}
	var err error
	if op.rsa, err = opkit.GenerateKey("RS256", "suite-rsa-1"); err != nil {
		t.Fatal(err)
	}
	if op.ec, err = opkit.GenerateKey("ES256", "suite-ec-1"); err != nil {
		t.Fatal(err)
	}
	if op.attacker, err = opkit.GenerateKey("RS256", "attacker-key"); err != nil {
		t.Fatal(err)
	}
	if op.enc, err = opkit.GenerateEncryptionKey("rp-enc-1"); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	// The issuer must be known before the first request is served.
	op.issuer = "http://" + srv.Listener.Addr().String()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                op.issuer,
			"authorization_endpoint":                op.issuer + "/authorize",
			"token_endpoint":                        op.issuer + "/token",
			"jwks_uri":                              op.issuer + "/jwks",
			"end_session_endpoint":                  op.issuer + "/endsession",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": conformanceAlgs,
			"backchannel_logout_supported":          true,
			"backchannel_logout_session_supported":  true,
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(opkit.JWKS(op.rsa.PublicJWK(), op.ec.PublicJWK()))
	})
	// Where the jku variant points: an RP that followed it would find a key
	// that verifies the attacker's token.
	mux.HandleFunc("GET /attacker/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(opkit.JWKS(op.attacker.PublicJWK()))
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return op
}

// suiteToken is the logout token the suite's OP builds: iss, sub, aud as a
// string, a UUID jti, sid, the event, iat now, exp two minutes on and a
// claim the RP must ignore; the header carries alg and kid, no typ.
func (op *conformanceOP) suiteToken(now time.Time) *opkit.Token {
	return &opkit.Token{
		Header: map[string]any{},
		Claims: map[string]any{
			"iss":           op.issuer,
			"sub":           "user-" + uuid(),
			"aud":           conformanceClientID,
			"jti":           uuid(),
			"sid":           uuid(),
			"events":        map[string]any{spec.BackchannelLogoutEvent: map[string]any{}},
			"iat":           now.Unix(),
			"exp":           now.Add(120 * time.Second).Unix(),
			"ignored_claim": "Logout Tokens MAY contain other Claims, and any Claims used that are not understood MUST be ignored.",
		},
	}
}

func (op *conformanceOP) minter(now time.Time) opkit.Minter {
	return opkit.Minter{
		Key:             op.rsa,
		OtherKey:        op.attacker,
		Issuer:          op.issuer,
		Audience:        conformanceClientID,
		Now:             now,
		Encryption:      op.enc,
		AttackerJWKSURL: op.issuer + "/attacker/jwks.json",
	}
}

// uuid is a random (version 4) UUID, the suite's jti.
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// lineChan is receive's stdout: every JSON line it prints arrives on lines.
type lineChan struct {
	mu    sync.Mutex
	buf   []byte
	lines chan string
}

func (l *lineChan) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.lines <- string(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

// startReceive runs "bclogout receive" in-process until the test ends and
// returns its endpoint and the lines it prints.
func startReceive(t *testing.T, args ...string) (endpoint string, lines <-chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := &lineChan{lines: make(chan string, 64)}
	endpoint, stderr, done := launchReceive(t, ctx, out, args...)
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("receive exit %d after cancel, want 0:\n%s", code, stderr.String())
		}
	})
	return endpoint, out.lines
}

// conformanceCase is one request to the receiver and what must come back.
type conformanceCase struct {
	name string
	// token mints the logout_token; nil when req builds the whole request.
	token func(t *testing.T) string
	// req overrides the request (method, body); nil POSTs token.
	req        func(t *testing.T, endpoint string) *http.Request
	wantStatus int
	wantReason string // "" for an accepted token
	wantDetail string // what the error's detail must name, when the class holds several rules
}

func TestConformanceSuiteBackChannelRP(t *testing.T) {
	op := newConformanceOP(t)
	endpoint, lines := startReceive(t, "--issuer", op.issuer, "--client-id", conformanceClientID)
	now := time.Now()

	sign := func(edit func(tok *opkit.Token)) func(t *testing.T) string {
		return func(t *testing.T) string {
			tok := op.suiteToken(now)
			if edit != nil {
				edit(tok)
			}
			s, err := tok.Sign(op.rsa)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	variant := func(name string) func(t *testing.T) string {
		return func(t *testing.T) string {
			v, ok := opkit.LookupVariant(name)
			if !ok {
				t.Fatalf("fakeop has no variant %q", name)
			}
			s, err := v.Mint(op.minter(now))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	// The suite's happy path, minted once: the replay row sends it again.
	replayed := sign(nil)(t)
	form := func(body string) func(t *testing.T, endpoint string) *http.Request {
		return func(t *testing.T, endpoint string) *http.Request {
			r, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
	}

	tests := []conformanceCase{
		// OIDCCClientTestBackChannelLogout…
		{name: "rpinitlogout", token: func(*testing.T) string { return replayed }, wantStatus: 200},
		{name: "rpinitlogout typ JWT", token: sign(func(tok *opkit.Token) { tok.Header["typ"] = "JWT" }), wantStatus: 200},
		{name: "rpinitlogout without sid", token: sign(func(tok *opkit.Token) { delete(tok.Claims, "sid") }), wantStatus: 200},
		{name: "alg-none", token: func(*testing.T) string {
			return op.suiteToken(now).Unsigned()
		}, wantStatus: 400, wantReason: "signature", wantDetail: "algorithm"},
		{name: "wrong-alg", token: func(t *testing.T) string {
			// The OP's genuine EC key, published in its JWKS with alg
			// ES256; the client registered no algorithm, so RS256 it is.
			s, err := op.suiteToken(now).Sign(op.ec)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, wantStatus: 400, wantReason: "signature", wantDetail: "algorithm"},
		{name: "wrong-aud", token: sign(func(tok *opkit.Token) { tok.Claims["aud"] = conformanceClientID + "-invalid" }), wantStatus: 400, wantReason: "audience"},
		{name: "wrong-issuer", token: sign(func(tok *opkit.Token) { tok.Claims["iss"] = op.issuer + "/invalid" }), wantStatus: 400, wantReason: "issuer"},
		{name: "with-nonce", token: sign(func(tok *opkit.Token) { tok.Claims["nonce"] = uuid() }), wantStatus: 400, wantReason: "claims", wantDetail: "nonce"},
		{name: "no-event", token: sign(func(tok *opkit.Token) { delete(tok.Claims, "events") }), wantStatus: 400, wantReason: "claims", wantDetail: "events"},
		{name: "wrong-event", token: sign(func(tok *opkit.Token) {
			tok.Claims["events"] = map[string]any{"http://schemas.openid.net/event/foobar": map[string]any{}}
		}), wantStatus: 400, wantReason: "claims", wantDetail: "events"},

		// The header attacks of Back-Channel Logout §2.6 and RFC 8725 §3.1.
		{name: "hs256 keyed with the rsa public key pem", token: variant("hs256-rsa-public-key"), wantStatus: 400, wantReason: "signature", wantDetail: "algorithm"},
		{name: "ps256 header on the rs256 key", token: variant("ps256-on-rs256-key"), wantStatus: 400, wantReason: "signature", wantDetail: "algorithm"},
		{name: "tampered payload", token: variant("tampered-payload"), wantStatus: 400, wantReason: "signature", wantDetail: "does not verify"},
		{name: "unknown kid", token: variant("unknown-kid"), wantStatus: 400, wantReason: "signature", wantDetail: "unknown key"},
		{name: "jku", token: variant("jku"), wantStatus: 400, wantReason: "signature", wantDetail: "forbidden header"},
		{name: "x5u", token: variant("x5u"), wantStatus: 400, wantReason: "signature", wantDetail: "forbidden header"},
		{name: "embedded jwk", token: variant("embedded-jwk"), wantStatus: 400, wantReason: "signature", wantDetail: "forbidden header"},
		{name: "x5c", token: variant("x5c"), wantStatus: 400, wantReason: "signature", wantDetail: "forbidden header"},
		{name: "unknown crit", token: variant("crit-unknown"), wantStatus: 400, wantReason: "signature", wantDetail: "critical header"},
		{name: "typ at+jwt", token: variant("typ-at+jwt"), wantStatus: 400, wantReason: "signature", wantDetail: "typ"},
		{name: "replay of the valid token", token: func(*testing.T) string { return replayed }, wantStatus: 400, wantReason: "replay"},
		{name: "jwe without decryption keys", token: variant("valid-jwe"), wantStatus: 400, wantReason: "encryption"},
		{name: "oversized body", req: form("logout_token=" + strings.Repeat("a", 64<<10)), wantStatus: 413, wantReason: "request"},
		{name: "two logout_token values", req: func(t *testing.T, endpoint string) *http.Request {
			return form("logout_token="+url.QueryEscape(sign(nil)(t))+"&logout_token="+url.QueryEscape(sign(nil)(t)))(t, endpoint)
		}, wantStatus: 400, wantReason: "request"},
		{name: "GET", req: func(t *testing.T, endpoint string) *http.Request {
			r, err := http.NewRequest(http.MethodGet, endpoint+"?logout_token="+url.QueryEscape(sign(nil)(t)), nil)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, wantStatus: 405, wantReason: "request"},
	}
	// Sequential on purpose: each request's line is the next one printed.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req *http.Request
			if tt.req != nil {
				req = tt.req(t, endpoint)
			} else {
				req = form("logout_token="+url.QueryEscape(tt.token(t)))(t, endpoint)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var rec receiveRecord
			select {
			case line := <-lines:
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("receive printed %q, not JSON: %v", line, err)
				}
			case <-time.After(30 * time.Second):
				// A guard against a hang, not a timing assertion.
				t.Fatal("receive printed no line for the request")
			}
			checkAnswer(t, tt, resp, body, rec)
		})
	}
}

func checkAnswer(t *testing.T, tt conformanceCase, resp *http.Response, body []byte, rec receiveRecord) {
	t.Helper()
	if resp.StatusCode != tt.wantStatus {
		t.Errorf("status %d, want %d; body %s; line %+v", resp.StatusCode, tt.wantStatus, body, rec)
	}
	if !hasToken(resp.Header.Values("Cache-Control"), "no-store") {
		t.Errorf("Cache-Control %q lacks no-store", resp.Header.Values("Cache-Control"))
	}
	if rec.Status != tt.wantStatus {
		t.Errorf("printed status %d, want %d", rec.Status, tt.wantStatus)
	}
	if rec.Time.IsZero() {
		t.Error("printed no time")
	}
	if tt.wantReason == "" {
		if rec.Outcome != "accepted" || rec.Reason != "" || rec.JTI == "" || rec.SessionsEnded == nil {
			t.Errorf("printed %+v, want an accepted token", rec)
		}
		return
	}
	if rec.Outcome != "rejected" || rec.Reason != tt.wantReason || !strings.HasPrefix(rec.Detail, "rp: ") || !strings.Contains(rec.Detail, tt.wantDetail) {
		t.Errorf("printed outcome %q reason %q detail %q, want rejected for %s naming %q", rec.Outcome, rec.Reason, rec.Detail, tt.wantReason, tt.wantDetail)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("body %q is not a JSON error (%v)", body, err)
	}
	if tt.wantStatus == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("Allow %q, want POST", resp.Header.Get("Allow"))
	}
}

// hasToken reports whether a comma-separated header holds token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// TestReceiveHelpAlgDefault keeps the manual in step with how the command
// picks algorithms: RS256, the registration default, when the OP lists it.
func TestReceiveHelpAlgDefault(t *testing.T) {
	for _, c := range []string{"receive", "verify"} {
		t.Run(c, func(t *testing.T) {
			code, out, _ := runCmd(t, "", c, "--help")
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			flat := strings.Join(strings.Fields(out), " ")
			i := strings.Index(flat, "-alg ")
			if i < 0 {
				t.Fatalf("no --alg flag in:\n%s", out)
			}
			doc := flat[i:min(len(flat), i+400)]
			for _, want := range []string{"registered", "RS256"} {
				if !strings.Contains(doc, want) {
					t.Errorf("--alg help lacks %q: %s", want, doc)
				}
			}
			if strings.Contains(doc, "minus none, else RS256") {
				t.Errorf("--alg help still says the whole advertised list is the default: %s", doc)
			}
		})
	}
}
