package opkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/lestrrat-go/jwx/v3/jwe"
)

func get(t *testing.T, rawURL string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestDiscovery(t *testing.T) {
	op := opkit.New(t, opkit.WithAlg("ES256"))
	status, body := get(t, op.Issuer()+"/.well-known/openid-configuration")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	var d map[string]any
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer": op.Issuer(), "jwks_uri": op.JWKSURL(),
		"authorization_endpoint": op.Issuer() + "/authorize", "token_endpoint": op.Issuer() + "/token",
		"end_session_endpoint":         op.Issuer() + "/end_session",
		"userinfo_endpoint":            op.Issuer() + "/userinfo",
		"backchannel_logout_supported": true, "backchannel_logout_session_supported": true,
		"frontchannel_logout_supported": true, "frontchannel_logout_session_supported": true,
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	if algs, _ := d["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "ES256" {
		t.Errorf("algs = %v", d["id_token_signing_alg_values_supported"])
	}
	lists := []struct {
		name string
		want []string
	}{
		{"response_types_supported", []string{"code"}},
		{"response_modes_supported", []string{"query"}},
		{"subject_types_supported", []string{"public"}},
		{"scopes_supported", []string{"openid", "profile"}},
		{"grant_types_supported", []string{"authorization_code"}},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post", "none"}},
		{"code_challenge_methods_supported", []string{"S256"}},
		{"claims_supported", []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "name", "preferred_username"}},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := d[tt.name].([]any)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%s = %v, want %v", tt.name, d[tt.name], tt.want)
			}
		})
	}
}

func TestJWKSRotationAndFailures(t *testing.T) {
	op := opkit.New(t, opkit.WithAlg("EdDSA"))
	kids := func() []string {
		t.Helper()
		status, body := get(t, op.JWKSURL())
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		set := parseSet(t, body)
		var out []string
		for i := range set.Len() {
			k, _ := set.Key(i)
			kid, _ := k.KeyID()
			out = append(out, kid)
		}
		return out
	}
	first := op.Key()
	if got := kids(); len(got) != 1 || got[0] != first.ID {
		t.Fatalf("kids = %v", got)
	}
	tok := op.LogoutToken("client-1", "alice", "sid-1")
	second, err := op.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if op.Key() != second || second.ID == first.ID {
		t.Fatal("rotation did not change the current key")
	}
	_, body := get(t, op.JWKSURL())
	verifyJWX(t, parseSet(t, body), tok) // the old key still verifies during the grace period
	if got := kids(); len(got) != 2 || got[0] != second.ID {
		t.Errorf("kids after rotate = %v", got)
	}
	op.RetireOld()
	if got := kids(); len(got) != 1 || got[0] != second.ID {
		t.Errorf("kids after retire = %v", got)
	}

	op.SetJWKSFailure(http.StatusServiceUnavailable)
	if status, _ := get(t, op.JWKSURL()); status != http.StatusServiceUnavailable {
		t.Errorf("failure status = %d", status)
	}
	op.SetJWKSFailure(0)
	op.SetJWKSBody([]byte("garbage"))
	if _, body := get(t, op.JWKSURL()); string(body) != "garbage" {
		t.Errorf("body = %q", body)
	}
	op.SetJWKSBody(nil)
	kids()
	if got := op.JWKSFetches(); got != 7 {
		t.Errorf("JWKSFetches = %d, want 7", got)
	}
}

func TestLogoutTokenAndTyp(t *testing.T) {
	tests := []struct {
		name    string
		opts    []opkit.Option
		wantTyp any
	}{
		{"default", nil, "logout+jwt"},
		{"keycloak style", []opkit.Option{opkit.WithTyp("JWT")}, "JWT"},
		{"no typ", []opkit.Option{opkit.WithoutTyp()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := opkit.New(t, append(tt.opts, opkit.WithClock(func() time.Time { return now }))...)
			tok := op.LogoutToken("client-1", "", "sid-9")
			if got := decodeHeader(t, tok)["typ"]; got != tt.wantTyp {
				t.Errorf("typ = %v, want %v", got, tt.wantTyp)
			}
			claims := verifyJWX(t, parseSet(t, op.JWKS()), tok)
			if _, ok := claims["sub"]; ok || claims["sid"] != "sid-9" || claims["iss"] != op.Issuer() ||
				claims["iat"] != float64(now.Unix()) {
				t.Errorf("claims = %v", claims)
			}
		})
	}
}

func TestOPMinter(t *testing.T) {
	op := opkit.New(t)
	m := op.Minter("client-1")
	v, _ := opkit.LookupVariant("jku")
	tok, err := v.Mint(m)
	if err != nil {
		t.Fatal(err)
	}
	jku, _ := decodeHeader(t, tok)["jku"].(string)
	if jku != op.Issuer()+"/attacker/jwks.json" {
		t.Fatalf("jku = %q", jku)
	}
	// What an RP that follows jku would find: the key that signed it.
	_, body := get(t, jku)
	verifyJWX(t, parseSet(t, body), tok)
	for _, v := range opkit.Variants() {
		if _, err := v.Mint(m); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
	}
}

func TestRegisterClient(t *testing.T) {
	dev := opkit.New(t)
	guarded, err := opkit.NewServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(guarded.Close)
	tests := []struct {
		name    string
		op      *opkit.OP
		client  opkit.Client
		wantErr error
	}{
		{"https", guarded, opkit.Client{ID: "a", BackchannelLogoutURI: "https://rp.example/logout"}, nil},
		{"http refused by default", guarded, opkit.Client{ID: "b", BackchannelLogoutURI: "http://rp.example/logout"}, opkit.ErrInvalidLogoutURI},
		{"http allowed in dev", dev, opkit.Client{ID: "b", BackchannelLogoutURI: "http://127.0.0.1:1/logout"}, nil},
		{"fragment", dev, opkit.Client{ID: "c", BackchannelLogoutURI: "https://rp.example/logout#x"}, opkit.ErrInvalidLogoutURI},
		{"empty fragment", dev, opkit.Client{ID: "c", BackchannelLogoutURI: "https://rp.example/logout#"}, opkit.ErrInvalidLogoutURI},
		{"userinfo", dev, opkit.Client{ID: "c", BackchannelLogoutURI: "https://u:p@rp.example/logout"}, opkit.ErrInvalidLogoutURI},
		{"relative", dev, opkit.Client{ID: "c", BackchannelLogoutURI: "/logout"}, opkit.ErrInvalidLogoutURI},
		{"other scheme", dev, opkit.Client{ID: "c", BackchannelLogoutURI: "ftp://rp.example/logout"}, opkit.ErrInvalidLogoutURI},
		{"unparsable", dev, opkit.Client{ID: "c", BackchannelLogoutURI: "https://rp.example/%zz"}, opkit.ErrInvalidLogoutURI},
		{"query allowed", dev, opkit.Client{ID: "q", BackchannelLogoutURI: "https://rp.example/logout?tenant=1"}, nil},
		{"no logout uri", dev, opkit.Client{ID: "d"}, nil},
		{"empty id", dev, opkit.Client{}, opkit.ErrInvalidClient},
		{"duplicate", dev, opkit.Client{ID: "d"}, opkit.ErrClientExists},
		{"redirect relative", dev, opkit.Client{ID: "e", RedirectURIs: []string{"/cb"}}, opkit.ErrInvalidRedirectURI},
		{"redirect fragment", dev, opkit.Client{ID: "e", RedirectURIs: []string{"https://rp.example/cb#f"}}, opkit.ErrInvalidRedirectURI},
		{"post logout relative", dev, opkit.Client{ID: "e", PostLogoutRedirectURIs: []string{"bye"}}, opkit.ErrInvalidRedirectURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op.RegisterClient(tt.client); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name    string
		opt     opkit.Option
		wantErr error
	}{
		{"alg", opkit.WithAlg("none"), errs.ErrInvalidConfig},
		{"retries", opkit.WithRetries(0), errs.ErrInvalidConfig},
		{"timeout", opkit.WithDeliveryTimeout(0), errs.ErrInvalidConfig},
		{"backoff", opkit.WithBackoff(-1), errs.ErrInvalidConfig},
		{"clock", opkit.WithClock(nil), errs.ErrInvalidConfig},
		{"client", opkit.WithHTTPClient(nil), errs.ErrInvalidConfig},
		{"key", opkit.WithKey(nil), errs.ErrInvalidConfig},
		{"issuer", opkit.WithIssuer("op.example"), errs.ErrInvalidConfig},
		{"valid issuer", opkit.WithIssuer("https://op.example/tenant"), nil},
		{"nil option", nil, errs.ErrInvalidConfig},
		{"unguardable transport", opkit.WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)}), errs.ErrInvalidConfig},
		{"guardable transport", opkit.WithHTTPClient(&http.Client{Transport: &http.Transport{}}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := opkit.NewServer("127.0.0.1:0", tt.opt)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if op != nil {
				op.Close()
			}
		})
	}
}

// roundTripFunc is a RoundTripper with no dialer the SSRF guard could use.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestUnguardedTransportNeedsAllowPrivate checks that a custom transport
// is usable once the caller has said, by name, that it goes unguarded.
func TestUnguardedTransportNeedsAllowPrivate(t *testing.T) {
	op, err := opkit.NewServer("127.0.0.1:0",
		opkit.WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)}), opkit.WithAllowPrivateTargets())
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	op.Close()
}

// rp is an httptest relying party that records the logout tokens it gets
// and answers with the statuses it is given, then 200.
type rp struct {
	srv      *httptest.Server
	mu       sync.Mutex
	tokens   []string
	statuses []int
	calls    atomic.Int64
}

func newRP(t *testing.T, statuses ...int) *rp {
	t.Helper()
	r := &rp{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.calls.Add(1)
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.tokens = append(r.tokens, req.PostFormValue("logout_token"))
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rp) url() string { return r.srv.URL + "/backchannel-logout" }

// got returns the logout tokens received so far.
func (r *rp) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

func TestFanOut(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		wantAttempts int
		wantStatus   int
		wantErr      error
	}{
		{"ok first time", nil, 1, 200, nil},
		{"204 accepted", []int{204}, 1, 204, nil},
		{"5xx retried then ok", []int{500, 503}, 3, 200, nil},
		{"5xx every time", []int{500, 502, 503}, 3, 503, opkit.ErrServerError},
		{"4xx final", []int{400}, 1, 400, opkit.ErrRejected},
		{"redirect not followed", []int{302}, 1, 302, opkit.ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := opkit.New(t, opkit.WithBackoff(time.Millisecond))
			r := newRP(t, tt.statuses...)
			if err := op.RegisterClient(opkit.Client{ID: "rp-1", BackchannelLogoutURI: r.url()}); err != nil {
				t.Fatal(err)
			}
			sid, err := op.NewSession("alice", "rp-1")
			if err != nil {
				t.Fatal(err)
			}
			rep, err := op.EndSession(context.Background(), sid)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr != nil && !errors.Is(err, opkit.ErrDeliveryFailed)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(rep.Deliveries) != 1 || rep.OK() != (tt.wantErr == nil) {
				t.Fatalf("report = %+v", rep)
			}
			d := rep.Deliveries[0]
			if d.Attempts != tt.wantAttempts || d.Status != tt.wantStatus || d.ClientID != "rp-1" || d.URI != r.url() || d.SID != sid {
				t.Errorf("delivery = %+v", d)
			}
			if got := int(r.calls.Load()); got != tt.wantAttempts {
				t.Errorf("RP saw %d requests, want %d", got, tt.wantAttempts)
			}
			// Retries resend the same token.
			tokens := r.got()
			claims := verifyJWX(t, parseSet(t, op.JWKS()), tokens[0])
			if claims["aud"] != "rp-1" || claims["sid"] != sid || claims["sub"] != "alice" {
				t.Errorf("claims = %v", claims)
			}
			for _, tok := range tokens[1:] {
				if tok != tokens[0] {
					t.Error("a retry sent a different token")
				}
			}
			if _, err := op.EndSession(context.Background(), sid); !errors.Is(err, opkit.ErrUnknownSession) {
				t.Errorf("second EndSession: %v", err)
			}
		})
	}
}

func TestFanOutSeveralRPsAndEncryption(t *testing.T) {
	op := opkit.New(t)
	a, b, c := newRP(t), newRP(t), newRP(t)
	enc := op.EncryptionKey()
	for _, cl := range []opkit.Client{
		{ID: "a", BackchannelLogoutURI: a.url()},
		{ID: "b", BackchannelLogoutURI: b.url(), Encryption: enc},
		{ID: "c", BackchannelLogoutURI: c.url()},
		{ID: "quiet"}, // no back-channel URI: not notified
	} {
		if err := op.RegisterClient(cl); err != nil {
			t.Fatal(err)
		}
	}
	s1, _ := op.NewSession("alice", "a", "b", "quiet")
	s2, _ := op.NewSession("alice", "c")
	other, _ := op.NewSession("bob", "a")
	rep, err := op.EndUserSessions(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sessions) != 2 || len(rep.Deliveries) != 3 {
		t.Fatalf("report = %+v", rep)
	}
	aTok, bTok, cTok := a.got(), b.got(), c.got()
	if len(aTok) != 1 || len(bTok) != 1 || len(cTok) != 1 {
		t.Fatalf("tokens: a %d b %d c %d", len(aTok), len(bTok), len(cTok))
	}
	if got := strings.Count(bTok[0], "."); got != 4 {
		t.Fatalf("b got a %d-dot token, want a JWE", got)
	}
	inner, err := jwe.Decrypt([]byte(bTok[0]), jwe.WithKeySet(parseSet(t, enc.PrivateJWKS())))
	if err != nil {
		t.Fatal(err)
	}
	if claims := verifyJWX(t, parseSet(t, op.JWKS()), string(inner)); claims["aud"] != "b" || claims["sid"] != s1 {
		t.Errorf("b claims = %v", claims)
	}
	if claims := verifyJWX(t, parseSet(t, op.JWKS()), cTok[0]); claims["sid"] != s2 {
		t.Errorf("c claims = %v", claims)
	}
	if got := op.Sessions(""); len(got) != 1 || got[0] != other {
		t.Errorf("sessions left = %v", got)
	}
	if _, err := op.EndUserSessions(context.Background(), "alice"); !errors.Is(err, opkit.ErrUnknownSession) {
		t.Errorf("err = %v", err)
	}
	if _, err := op.NewSession("x", "nope"); !errors.Is(err, opkit.ErrUnknownClient) {
		t.Errorf("err = %v", err)
	}
}

func TestFanOutTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	op := opkit.New(t, opkit.WithDeliveryTimeout(50*time.Millisecond), opkit.WithRetries(2), opkit.WithBackoff(time.Millisecond))
	if err := op.RegisterClient(opkit.Client{ID: "slow", BackchannelLogoutURI: slow.URL}); err != nil {
		t.Fatal(err)
	}
	sid, _ := op.NewSession("alice", "slow")
	rep, err := op.EndSession(context.Background(), sid)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, opkit.ErrDeliveryFailed) {
		t.Fatalf("err = %v", err)
	}
	if d := rep.Deliveries[0]; d.Attempts != 2 || d.Status != 0 {
		t.Errorf("delivery = %+v", d)
	}
}

func TestFanOutCancelled(t *testing.T) {
	hit := make(chan struct{}, 1)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hit <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	// The backoff is far longer than the test: only the cancellation can
	// end the wait before the second attempt.
	op := opkit.New(t, opkit.WithBackoff(time.Hour))
	if err := op.RegisterClient(opkit.Client{ID: "rp", BackchannelLogoutURI: failing.URL}); err != nil {
		t.Fatal(err)
	}
	sid, _ := op.NewSession("alice", "rp")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := op.EndSession(ctx, sid)
		done <- err
	}()
	<-hit
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestCloseCancelsDeliveries(t *testing.T) {
	hit := make(chan struct{}, 1)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hit <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	op, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowPrivateTargets(), opkit.WithBackoff(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := op.RegisterClient(opkit.Client{ID: "rp", BackchannelLogoutURI: failing.URL}); err != nil {
		t.Fatal(err)
	}
	sid, _ := op.NewSession("alice", "rp")
	done := make(chan error)
	go func() {
		_, err := op.EndSession(context.Background(), sid)
		done <- err
	}()
	<-hit
	op.Close() // returns only once the delivery goroutine has ended
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	op.Close() // idempotent
}

func TestEndAfterClose(t *testing.T) {
	r := newRP(t)
	op, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowPrivateTargets())
	if err != nil {
		t.Fatal(err)
	}
	if err := op.RegisterClient(opkit.Client{ID: "rp", BackchannelLogoutURI: r.url()}); err != nil {
		t.Fatal(err)
	}
	sid, _ := op.NewSession("alice", "rp")
	op.Close()
	tests := []struct {
		name string
		end  func() (opkit.Report, error)
	}{
		{"EndSession", func() (opkit.Report, error) { return op.EndSession(context.Background(), sid) }},
		{"EndUserSessions", func() (opkit.Report, error) { return op.EndUserSessions(context.Background(), "alice") }},
		{"EndSession unknown", func() (opkit.Report, error) { return op.EndSession(context.Background(), "nope") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := tt.end()
			if !errors.Is(err, opkit.ErrClosed) {
				t.Errorf("err = %v, want ErrClosed", err)
			}
			if len(rep.Sessions) != 0 || len(rep.Deliveries) != 0 {
				t.Errorf("report = %+v, want empty", rep)
			}
		})
	}
	if n := r.calls.Load(); n != 0 {
		t.Errorf("the RP got %d logout request(s) after Close", n)
	}
	if got := op.Sessions("alice"); len(got) != 1 || got[0] != sid {
		t.Errorf("sessions after refused ends = %v, want [%s]", got, sid)
	}
}

// TestEndRacingClose ends sessions while Close runs: under -race it shows
// no delivery is counted after Close starts waiting, and each call either
// delivered, was cancelled by Close, or was refused.
func TestEndRacingClose(t *testing.T) {
	r := newRP(t)
	op, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowPrivateTargets(),
		opkit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := op.RegisterClient(opkit.Client{ID: "rp", BackchannelLogoutURI: r.url()}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	sids := make([]string, n)
	for i := range sids {
		sids[i], _ = op.NewSession(fmt.Sprintf("user-%d", i), "rp")
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, sid := range sids {
		wg.Go(func() {
			if i%2 == 0 {
				_, errs[i] = op.EndSession(context.Background(), sid)
			} else {
				_, errs[i] = op.EndUserSessions(context.Background(), fmt.Sprintf("user-%d", i))
			}
		})
	}
	op.Close()
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, opkit.ErrClosed) && !errors.Is(err, context.Canceled) {
			t.Errorf("call %d: err = %v, want nil, ErrClosed or a cancelled delivery", i, err)
		}
	}
}

func TestSSRFGuard(t *testing.T) {
	op, err := opkit.NewServer("127.0.0.1:0", opkit.WithBackoff(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	// An RP that really listens on loopback: the guard must refuse it
	// although it would answer.
	r := newRP(t)
	loopback := strings.Replace(r.url(), "http://", "https://", 1)
	targets := map[string]string{
		"loopback":       loopback,
		"localhost name": "https://localhost:1/logout",
		"private 10":     "https://10.0.0.1/logout",
		"private 192":    "https://192.168.1.1/logout",
		"link-local":     "https://169.254.169.254/latest/meta-data",
		"unspecified":    "https://0.0.0.0/logout",
		"ipv6 loopback":  "https://[::1]:1/logout",
		"mapped":         "https://[::ffff:127.0.0.1]:1/logout",
		"cgnat":          "https://100.64.0.1/logout",
	}
	var ids []string
	for name, uri := range targets {
		if err := op.RegisterClient(opkit.Client{ID: name, BackchannelLogoutURI: uri}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, name)
	}
	sid, _ := op.NewSession("alice", ids...)
	rep, err := op.EndSession(context.Background(), sid)
	if !errors.Is(err, opkit.ErrForbiddenTarget) {
		t.Fatalf("err = %v", err)
	}
	for _, d := range rep.Deliveries {
		if !errors.Is(d.Err, opkit.ErrForbiddenTarget) || d.Attempts != 1 || d.Status != 0 {
			t.Errorf("%s: %+v", d.ClientID, d)
		}
	}
	if r.calls.Load() != 0 {
		t.Error("the loopback RP was contacted")
	}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so a test sees each step of the login.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func form(t *testing.T, method, target string, v url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func authorizeURL(op *opkit.OP, clientID, redirect, state, nonce string) string {
	return op.Issuer() + "/authorize?" + url.Values{
		"client_id": {clientID}, "redirect_uri": {redirect}, "state": {state},
		"nonce": {nonce}, "response_type": {"code"}, "scope": {"openid"},
	}.Encode()
}

// codeFrom checks a redirect to the RP and returns its code.
func codeFrom(t *testing.T, resp *http.Response, redirect, state string) string {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("location = %s", loc)
	}
	return loc.Query().Get("code")
}

func TestLoginSSOAndLogout(t *testing.T) {
	op := opkit.New(t)
	rpA, rpB := newRP(t), newRP(t)
	clients := []opkit.Client{
		{ID: "app-a", Secret: "secret-a", RedirectURIs: []string{"http://a.example/cb"}, BackchannelLogoutURI: rpA.url(),
			PostLogoutRedirectURIs: []string{"http://a.example/bye"}},
		{ID: "app-b", Secret: "secret-b", RedirectURIs: []string{"http://b.example/cb"}, BackchannelLogoutURI: rpB.url(), SessionRequired: true},
	}
	for _, c := range clients {
		if err := op.RegisterClient(c); err != nil {
			t.Fatal(err)
		}
	}
	br := browser(t)
	set := parseSet(t, op.JWKS())

	// RP A: login form, sign in as alice.
	req, _ := http.NewRequest(http.MethodGet, authorizeURL(op, "app-a", "http://a.example/cb", "st-a", "n-a"), nil)
	resp, body := do(t, br, req)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="alice"`) || !strings.Contains(body, "Sign in") {
		t.Fatalf("login page %d: %s", resp.StatusCode, body)
	}
	resp, _ = do(t, br, form(t, http.MethodPost, op.Issuer()+"/authorize", url.Values{
		"client_id": {"app-a"}, "redirect_uri": {"http://a.example/cb"}, "state": {"st-a"},
		"nonce": {"n-a"}, "response_type": {"code"}, "scope": {"openid"}, "username": {"alice"},
	}))
	code := codeFrom(t, resp, "http://a.example/cb", "st-a")

	// Token endpoint with client_secret_basic.
	tokReq := form(t, http.MethodPost, op.Issuer()+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://a.example/cb"},
	})
	tokReq.SetBasicAuth("app-a", "secret-a")
	resp, body = do(t, br, tokReq)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token %d: %s", resp.StatusCode, body)
	}
	var tr struct{ IDToken, AccessToken string }
	tr.IDToken = jsonField(t, body, "id_token")
	tr.AccessToken = jsonField(t, body, "access_token")
	if tr.AccessToken == "" {
		t.Error("no access token")
	}
	idA := verifyJWX(t, set, tr.IDToken)
	sid, _ := idA["sid"].(string)
	if idA["aud"] != "app-a" || idA["sub"] != "alice" || idA["nonce"] != "n-a" || sid == "" ||
		idA["iss"] != op.Issuer() || idA["auth_time"] == nil || idA["exp"] == nil {
		t.Fatalf("id token A = %v", idA)
	}
	// The code is single use.
	tokReq = form(t, http.MethodPost, op.Issuer()+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://a.example/cb"},
	})
	tokReq.SetBasicAuth("app-a", "secret-a")
	if resp, body = do(t, br, tokReq); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_grant") {
		t.Errorf("code reuse: %d %s", resp.StatusCode, body)
	}

	// RP B: single sign-on, no form, same sid; client_secret_post.
	req, _ = http.NewRequest(http.MethodGet, authorizeURL(op, "app-b", "http://b.example/cb", "st-b", ""), nil)
	resp, _ = do(t, br, req)
	code = codeFrom(t, resp, "http://b.example/cb", "st-b")
	resp, body = do(t, br, form(t, http.MethodPost, op.Issuer()+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://b.example/cb"},
		"client_id": {"app-b"}, "client_secret": {"secret-b"},
	}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token B %d: %s", resp.StatusCode, body)
	}
	idB := verifyJWX(t, set, jsonField(t, body, "id_token"))
	if idB["sid"] != sid || idB["aud"] != "app-b" {
		t.Fatalf("id token B = %v", idB)
	}
	if _, ok := idB["nonce"]; ok {
		t.Error("nonce without one requested")
	}

	// The home page lists the session and both RPs.
	req, _ = http.NewRequest(http.MethodGet, op.Issuer()+"/", nil)
	if _, body = do(t, br, req); !strings.Contains(body, sid) || !strings.Contains(body, "app-a app-b") ||
		!strings.Contains(body, "Sign out everywhere") {
		t.Errorf("home page: %s", body)
	}

	// RP-initiated logout in the browser fans out to both RPs and returns.
	req, _ = http.NewRequest(http.MethodGet, op.Issuer()+"/end_session?"+url.Values{
		"client_id": {"app-a"}, "post_logout_redirect_uri": {"http://a.example/bye"}, "state": {"s"},
	}.Encode(), nil)
	resp, _ = do(t, br, req)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://a.example/bye?state=s" {
		t.Fatalf("end_session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for name, r := range map[string]*rp{"app-a": rpA, "app-b": rpB} {
		tokens := r.got()
		if len(tokens) != 1 {
			t.Fatalf("%s got %d tokens", name, len(tokens))
		}
		if c := verifyJWX(t, set, tokens[0]); c["aud"] != name || c["sid"] != sid || c["sub"] != "alice" {
			t.Errorf("%s logout claims = %v", name, c)
		}
	}
	if len(op.Sessions("")) != 0 {
		t.Error("session still open")
	}
	// The cookie is gone: the next authorize asks again.
	req, _ = http.NewRequest(http.MethodGet, authorizeURL(op, "app-a", "http://a.example/cb", "x", ""), nil)
	if resp, _ = do(t, br, req); resp.StatusCode != http.StatusOK {
		t.Errorf("authorize after logout: %d", resp.StatusCode)
	}
}

func TestHomeSignOutEverywhere(t *testing.T) {
	op := opkit.New(t)
	r := newRP(t)
	if err := op.RegisterClient(opkit.Client{ID: "app", BackchannelLogoutURI: r.url()}); err != nil {
		t.Fatal(err)
	}
	sid, _ := op.NewSession("alice", "app")
	resp, body := do(t, http.DefaultClient, form(t, http.MethodPost, op.Issuer()+"/end_session", url.Values{"sid": {sid}}))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, r.url()) || len(r.got()) != 1 {
		t.Errorf("sign out everywhere: %d %s", resp.StatusCode, body)
	}
}

func TestAuthorizeAndTokenErrors(t *testing.T) {
	op := opkit.New(t)
	if err := op.RegisterClient(opkit.Client{ID: "app", Secret: "s", RedirectURIs: []string{"http://app.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		want       string
	}{
		{"unknown client", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, authorizeURL(op, "nope", "http://app.example/cb", "", ""), nil)
			return r
		}, http.StatusBadRequest, "unregistered redirect_uri"},
		{"unregistered redirect", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, authorizeURL(op, "app", "http://evil.example/cb", "", ""), nil)
			return r
		}, http.StatusBadRequest, "unregistered redirect_uri"},
		{"implicit flow", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, op.Issuer()+"/authorize?client_id=app&redirect_uri=http://app.example/cb&response_type=token", nil)
			return r
		}, http.StatusFound, ""},
		{"no scope", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, op.Issuer()+"/authorize?client_id=app&redirect_uri=http://app.example/cb&response_type=code&state=st", nil)
			return r
		}, http.StatusFound, "error=invalid_scope"},
		{"scope without openid", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, op.Issuer()+"/authorize?client_id=app&redirect_uri=http://app.example/cb&response_type=code&scope=profile+openidx", nil)
			return r
		}, http.StatusFound, "error=invalid_scope"},
		{"login form without openid", func() *http.Request {
			return form(t, http.MethodPost, op.Issuer()+"/authorize", url.Values{"client_id": {"app"},
				"redirect_uri": {"http://app.example/cb"}, "response_type": {"code"}, "scope": {"profile"}, "username": {"alice"}})
		}, http.StatusFound, "error=invalid_scope"},
		{"pkce plain not supported", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, authorizeURL(op, "app", "http://app.example/cb", "", "")+"&code_challenge=abc&code_challenge_method=plain", nil)
			return r
		}, http.StatusFound, "error=invalid_request"},
		{"pkce method defaults to plain", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, authorizeURL(op, "app", "http://app.example/cb", "", "")+"&code_challenge=abc", nil)
			return r
		}, http.StatusFound, "error=invalid_request"},
		{"wrong secret", func() *http.Request {
			r := form(t, http.MethodPost, op.Issuer()+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}})
			r.SetBasicAuth("app", "wrong")
			return r
		}, http.StatusUnauthorized, "invalid_client"},
		{"unknown code", func() *http.Request {
			r := form(t, http.MethodPost, op.Issuer()+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}})
			r.SetBasicAuth("app", "s")
			return r
		}, http.StatusBadRequest, "invalid_grant"},
		{"grant type", func() *http.Request {
			return form(t, http.MethodPost, op.Issuer()+"/token", url.Values{"grant_type": {"password"}})
		}, http.StatusBadRequest, "unsupported_grant_type"},
		{"empty username", func() *http.Request {
			return form(t, http.MethodPost, op.Issuer()+"/authorize", url.Values{"client_id": {"app"},
				"redirect_uri": {"http://app.example/cb"}, "response_type": {"code"}, "scope": {"openid"}, "username": {" "}})
		}, http.StatusBadRequest, "enter a username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, browser(t), tt.req())
			// A redirect's error is in its Location (the body of a POST's
			// redirect is empty).
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body+resp.Header.Get("Location"), tt.want) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.want)
			}
		})
	}
}

func TestPKCE(t *testing.T) {
	op := opkit.New(t)
	if err := op.RegisterClient(opkit.Client{ID: "spa", RedirectURIs: []string{"http://spa.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	// RFC 7636 appendix B.
	verifier, challenge := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	br := browser(t)
	login := func() string {
		resp, _ := do(t, br, form(t, http.MethodPost, op.Issuer()+"/authorize", url.Values{
			"client_id": {"spa"}, "redirect_uri": {"http://spa.example/cb"}, "response_type": {"code"}, "scope": {"openid"},
			"username": {"alice"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
		}))
		return codeFrom(t, resp, "http://spa.example/cb", "")
	}
	for _, tt := range []struct {
		name, verifier string
		wantStatus     int
	}{
		{"wrong verifier", "nope", http.StatusBadRequest},
		{"no verifier", "", http.StatusBadRequest},
		{"right verifier", verifier, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, br, form(t, http.MethodPost, op.Issuer()+"/token", url.Values{
				"grant_type": {"authorization_code"}, "code": {login()}, "redirect_uri": {"http://spa.example/cb"},
				"client_id": {"spa"}, "code_verifier": {tt.verifier},
			}))
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
}

func jsonField(t *testing.T, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	s, _ := m[name].(string)
	return s
}
