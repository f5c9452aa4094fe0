package bclogout_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/rp"
)

const ssfBearer = "transmitter-secret"

// ssfApp is an app signed in with one OP, which also pushes SETs to it.
type ssfApp struct {
	bl       *bclogout.RP
	op       *opkit.OP
	sessions *memSessions
	srv      *httptest.Server
	mu       sync.Mutex
	events   []string // OnEvent's event types
}

func newSSFApp(t *testing.T, ss bclogout.SharedSignals, opts ...opkit.Option) *ssfApp {
	t.Helper()
	op := opkit.New(t, opts...)
	a := &ssfApp{op: op, sessions: newMemSessions()}
	ss.OnEvent = func(_ context.Context, ev *rp.SecurityEvent) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.events = append(a.events, ev.Type)
	}
	if ss.Path == "" {
		ss.Path = "/ssf"
	}
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: a.sessions, SharedSignals: &ss,
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	a.bl = bl
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		tok := idToken(t, op, op.Issuer(), r.FormValue("sub"), r.FormValue("sid"), time.Now().Add(-time.Second))
		if err := bl.Login(w, r, tok); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	})
	mux.Handle("/", bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a.sessions.get(r, "login"); ok {
			io.WriteString(w, "signed in")
			return
		}
		io.WriteString(w, "anonymous")
	})))
	a.srv = httptest.NewServer(bl.Endpoints(mux))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *ssfApp) login(t *testing.T, sub, sid string) *http.Cookie {
	t.Helper()
	resp, err := http.Get(a.srv.URL + "/callback?sub=" + sub + "&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) == 0 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return resp.Cookies()[0]
}

func (a *ssfApp) page(t *testing.T, c *http.Cookie) string {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/", nil)
	r.AddCookie(c)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// push delivers set as the OP's transmitter does and returns the status
// and the RFC 8935 §2.4 err code.
func (a *ssfApp) push(t *testing.T, bearer, set string) (int, string) {
	t.Helper()
	status, body, err := a.op.PushSET(t.Context(), a.srv.URL+"/ssf", bearer, set)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Err string `json:"err"`
	}
	_ = json.Unmarshal(body, &e)
	return status, e.Err
}

func (a *ssfApp) sign(t *testing.T, tok *opkit.Token) string {
	t.Helper()
	s, err := tok.Sign(a.op.Key())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An app signed in with one OP gets a pushed CAEP session-revoked for a
// user: the guard ends that user's session, and no one else's.
func TestSharedSignalsSessionRevokedEndsSession(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{BearerToken: ssfBearer})
	alice := a.login(t, "alice", "sid-a")
	bob := a.login(t, "bob", "sid-b")
	carol := a.login(t, "carol", "sid-c")

	set, err := a.op.SessionRevoked("app", "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if status, code := a.push(t, ssfBearer, set); status != http.StatusAccepted {
		t.Fatalf("push: %d %s", status, code)
	}
	if got := a.page(t, alice); got != "anonymous" {
		t.Errorf("alice after session-revoked: %q, want anonymous", got)
	}
	if got := a.page(t, bob); got != "signed in" {
		t.Errorf("bob after alice's session-revoked: %q", got)
	}
	// A complex subject naming the OP session ends that session.
	set, err = a.op.SessionRevoked("app", "carol", "sid-c")
	if err != nil {
		t.Fatal(err)
	}
	if status, code := a.push(t, ssfBearer, set); status != http.StatusAccepted {
		t.Fatalf("push by sid: %d %s", status, code)
	}
	if got := a.page(t, carol); got != "anonymous" {
		t.Errorf("carol after session-revoked by sid: %q, want anonymous", got)
	}
	// The same SET again is a replay.
	if status, code := a.push(t, ssfBearer, set); status != http.StatusBadRequest || code != "invalid_request" {
		t.Errorf("replay: %d %s, want 400 invalid_request", status, code)
	}
	if len(a.events) != 2 || a.events[0] != opkit.CAEPSessionRevoked {
		t.Errorf("OnEvent saw %v", a.events)
	}
}

// Each RISC event that ends sessions does, by the user's iss_sub, in
// Google's legacy subject_type form too.
func TestSharedSignalsRISCEvents(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{})
	for _, typ := range []string{
		"https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
		"https://schemas.openid.net/secevent/risc/event-type/tokens-revoked",
		"https://schemas.openid.net/secevent/risc/event-type/account-disabled",
		"https://schemas.openid.net/secevent/risc/event-type/account-purged",
	} {
		t.Run(typ[strings.LastIndex(typ, "/")+1:], func(t *testing.T) {
			// A user of its own each: a revocation by sub also refuses
			// the logins of the second before it.
			sub := "dave-" + typ[strings.LastIndex(typ, "/")+1:]
			c := a.login(t, sub, "sid-"+sub)
			tok := a.op.NewSET("app", typ, map[string]any{
				"subject": map[string]any{"subject_type": "iss-sub", "iss": a.op.Issuer(), "sub": sub},
			})
			if status, code := a.push(t, "", a.sign(t, tok)); status != http.StatusAccepted {
				t.Fatalf("push: %d %s", status, code)
			}
			if got := a.page(t, c); got != "anonymous" {
				t.Errorf("after %s: %q, want anonymous", typ, got)
			}
		})
	}
}

// Google's Cross-Account Protection, as its documentation shows it: the
// transmitter configuration at /.well-known/risc-configuration, SETs whose
// iss is the OP's issuer with a trailing slash, aud the client ID, and the
// user named by a legacy subject_type iss-sub with that same iss.
func TestSharedSignalsGoogleRISC(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{}, opkit.WithRISCTransmitter())
	c := a.login(t, "7375626A656374", "sid-g")
	tok := a.op.NewSET("app", "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked", map[string]any{
		"subject": map[string]any{"subject_type": "iss-sub", "iss": a.op.SETIssuer(), "sub": "7375626A656374"},
	})
	if iss := tok.Claims["iss"]; iss != a.op.Issuer()+"/" {
		t.Fatalf("iss %v", iss)
	}
	if status, code := a.push(t, "", a.sign(t, tok)); status != http.StatusAccepted {
		t.Fatalf("push: %d %s", status, code)
	}
	if got := a.page(t, c); got != "anonymous" {
		t.Errorf("after Google's sessions-revoked: %q, want anonymous", got)
	}
	// Its iss without the slash is not the transmitter's.
	tok = opkit.NewSET(a.op.Issuer(), "app", time.Now(), "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked", map[string]any{
		"subject": map[string]any{"subject_type": "iss-sub", "iss": a.op.SETIssuer(), "sub": "7375626A656374"},
	})
	if status, code := a.push(t, "", a.sign(t, tok)); status != http.StatusBadRequest || code != "invalid_issuer" {
		t.Errorf("iss without the slash: %d %s, want 400 invalid_issuer", status, code)
	}
}

// Hostile and unusual deliveries, each answered as RFC 8935 §2.3–§2.4 say
// and ending nothing they should not.
func TestSharedSignalsRefuses(t *testing.T) {
	var mapped []string
	a := newSSFApp(t, bclogout.SharedSignals{BearerToken: ssfBearer})
	m := newSSFApp(t, bclogout.SharedSignals{MapSubject: func(_ context.Context, id map[string]any) (string, error) {
		email, _ := id["email"].(string)
		mapped = append(mapped, email)
		if email == "down@example.com" {
			return "", errors.New("directory down")
		}
		return strings.TrimSuffix(email, "@example.com"), nil
	}})
	event := func(app *ssfApp, typ string, subject map[string]any) *opkit.Token {
		return app.op.NewSET("app", typ, map[string]any{"subject": subject})
	}
	issSub := func(app *ssfApp, sub string) map[string]any {
		return map[string]any{"format": "iss_sub", "iss": app.op.Issuer(), "sub": sub}
	}
	logoutToken, _ := a.op.SignLogoutToken("app", "alice", "sid-a")
	tests := []struct {
		name       string
		app        *ssfApp
		bearer     string
		set        func() string
		wantStatus int
		wantCode   string
	}{
		{"no bearer", a, "", func() string { return a.sign(t, event(a, opkit.CAEPSessionRevoked, issSub(a, "u"))) }, 401, "authentication_failed"},
		{"wrong bearer", a, "guess", func() string { return a.sign(t, event(a, opkit.CAEPSessionRevoked, issSub(a, "u"))) }, 401, "authentication_failed"},
		{"logout token", a, ssfBearer, func() string { return logoutToken }, 400, "invalid_request"},
		{"wrong aud", a, ssfBearer, func() string {
			tok := event(a, opkit.CAEPSessionRevoked, issSub(a, "u"))
			tok.Claims["aud"] = "another-app"
			return a.sign(t, tok)
		}, 400, "invalid_audience"},
		{"another OP's key", a, ssfBearer, func() string {
			return m.sign(t, opkit.NewSET(a.op.Issuer(), "app", time.Now(), opkit.CAEPSessionRevoked, map[string]any{"subject": issSub(a, "u")}))
		}, 400, "invalid_key"},
		{"another issuer", a, ssfBearer, func() string { return m.sign(t, event(m, opkit.CAEPSessionRevoked, issSub(m, "u"))) }, 400, "invalid_issuer"},
		{"two events", a, ssfBearer, func() string {
			tok := event(a, opkit.CAEPSessionRevoked, issSub(a, "u"))
			tok.Claims["events"].(map[string]any)[opkit.RISCSessionsRevoked] = map[string]any{"subject": issSub(a, "u")}
			return a.sign(t, tok)
		}, 400, "invalid_request"},
		{"unknown subject format", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "x-badge", "id": "42"}))
		}, 400, "invalid_request"},
		{"no subject", a, ssfBearer, func() string { return a.sign(t, a.op.NewSET("app", opkit.CAEPSessionRevoked, nil)) }, 400, "invalid_request"},
		{"iss_sub of another issuer", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "iss_sub", "iss": "https://elsewhere.example", "sub": "u"}))
		}, 400, "access_denied"},
		{"email without MapSubject", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "email", "email": "u@example.com"}))
		}, 400, "access_denied"},
		{"email, MapSubject fails", m, "", func() string {
			return m.sign(t, event(m, opkit.CAEPSessionRevoked, map[string]any{"format": "email", "email": "down@example.com"}))
		}, 503, ""},
		{"aliases naming no user of the OP", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "aliases", "identifiers": []any{
				map[string]any{"format": "email", "email": "u@example.com"},
				map[string]any{"format": "iss_sub", "iss": "https://elsewhere.example", "sub": "u"},
			}}))
		}, 400, "access_denied"},
		{"nested aliases", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "aliases", "identifiers": []any{
				map[string]any{"format": "aliases", "identifiers": []any{issSub(a, "u")}},
			}}))
		}, 400, "invalid_request"},
		// RFC 9493 §3.2.8: an aliases identifier MUST NOT be aliases,
		// named by format or by RISC's legacy subject_type alike.
		{"nested aliases by subject_type", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "aliases", "identifiers": []any{
				map[string]any{"subject_type": "aliases", "identifiers": []any{issSub(a, "u")}},
			}}))
		}, 400, "invalid_request"},
		{"aliases without identifiers", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "aliases", "identifiers": []any{}}))
		}, 400, "invalid_request"},
		{"aliases, MapSubject fails for one", m, "", func() string {
			return m.sign(t, event(m, opkit.CAEPSessionRevoked, map[string]any{"format": "aliases", "identifiers": []any{
				map[string]any{"format": "iss_sub", "iss": "https://elsewhere.example", "sub": "u"},
				map[string]any{"format": "email", "email": "down@example.com"},
			}}))
		}, 503, ""},
		{"phone_number without MapSubject", a, ssfBearer, func() string {
			return a.sign(t, event(a, opkit.CAEPSessionRevoked, map[string]any{"format": "phone_number", "phone_number": "+12065550100"}))
		}, 400, "access_denied"},
		{"verification", a, ssfBearer, func() string {
			return a.sign(t, a.op.NewSET("app", opkit.RISCVerification, map[string]any{"state": "x"}))
		}, 202, ""},
		{"unknown event", a, ssfBearer, func() string {
			return a.sign(t, event(a, "https://schemas.openid.net/secevent/caep/event-type/credential-change", issSub(a, "u")))
		}, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := tt.app.push(t, tt.bearer, tt.set())
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("answer %d %q, want %d %q", status, code, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if len(a.events) != 2 || a.events[0] != opkit.RISCVerification {
		t.Errorf("OnEvent saw %v, want verification and credential-change", a.events)
	}

	// Mapped by the hook, an email subject ends the user's sessions.
	c := m.login(t, "erin", "sid-e")
	set := m.sign(t, event(m, opkit.CAEPSessionRevoked, map[string]any{"format": "email", "email": "erin@example.com"}))
	if status, code := m.push(t, "", set); status != http.StatusAccepted {
		t.Fatalf("email push: %d %s", status, code)
	}
	if got := m.page(t, c); got != "anonymous" {
		t.Errorf("erin after an email-named session-revoked: %q", got)
	}

	// Not a POST of a SET.
	for _, tc := range []struct {
		method, contentType, body string
		want                      int
	}{
		{http.MethodGet, "", "x", http.StatusMethodNotAllowed},
		{http.MethodPost, "application/x-www-form-urlencoded", "x", http.StatusBadRequest},
		{http.MethodPost, "application/jwt", "x", http.StatusBadRequest},
		{http.MethodPost, "application/secevent+jwt", strings.Repeat("x", 65<<10), http.StatusRequestEntityTooLarge},
	} {
		r, _ := http.NewRequest(tc.method, m.srv.URL+"/ssf", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.contentType)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.contentType, resp.StatusCode, tc.want)
		}
	}
}

// A SET sent to the back-channel logout endpoint is no logout token.
func TestSETAtLogoutEndpointRefused(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{})
	c := a.login(t, "alice", "sid-a")
	set, err := a.op.SessionRevoked("app", "alice", "sid-a")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"as sent": set,
		"typ logout+jwt": a.sign(t, func() *opkit.Token {
			tok := a.op.NewSET("app", opkit.CAEPSessionRevoked, nil)
			tok.Header["typ"] = "logout+jwt"
			tok.Claims["sub"], tok.Claims["sid"] = "alice", "sid-a"
			return tok
		}()),
	} {
		resp, err := http.PostForm(a.srv.URL+"/backchannel-logout", url.Values{"logout_token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if got := a.page(t, c); got != "signed in" {
		t.Errorf("a refused SET ended a session: %q", got)
	}
}

// New refuses a transmitter it cannot trust: one without a configuration,
// whose configuration names another issuer than the transmitter (another
// host's, or another tenant's on the same host: a tenant b that claims the
// host's root would pass for the tenant root of the OP's tenant a, and its
// users for the OP's), or that is not read as strictly as a token (a
// member name in another case is not the member).
func TestSharedSignalsTransmitterConfiguration(t *testing.T) {
	op := opkit.New(t)
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/ssf-configuration/elsewhere":
			io.WriteString(w, `{"issuer":"https://evil.example","jwks_uri":"`+op.JWKSURL()+`"}`)
		case "/.well-known/ssf-configuration/tenants/b":
			io.WriteString(w, `{"issuer":"http://`+r.Host+`","jwks_uri":"`+op.JWKSURL()+`"}`)
		case "/.well-known/ssf-configuration/case":
			io.WriteString(w, `{"issuer":"http://`+r.Host+`/case","JWKS_URI":"`+op.JWKSURL()+`"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer tr.Close()
	for name, transmitter := range map[string]string{
		"no configuration":      tr.URL,
		"another host's iss":    tr.URL + "/elsewhere",
		"the host root's iss":   tr.URL + "/tenants/b",
		"case-changed jwks_uri": tr.URL + "/case",
		"not a URL":             "accounts",
	} {
		t.Run(name, func(t *testing.T) {
			bl, err := bclogout.New(t.Context(), bclogout.Config{
				Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions(),
				SharedSignals: &bclogout.SharedSignals{Transmitter: transmitter},
			})
			if err == nil {
				bl.Close(context.Background())
				t.Fatal("New accepted the transmitter")
			}
		})
	}
}

// The transmitter's configuration is fetched by the client that fetches
// the OP's keys, which refuses a redirect from https, or from a loopback
// http, to a plain http URL: the configuration names the SETs' keys.
func TestSharedSignalsTransmitterRedirectToHTTPRefused(t *testing.T) {
	op := opkit.New(t)
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://op.example"+r.URL.Path, http.StatusFound)
	}))
	defer tr.Close()
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions(),
		SharedSignals: &bclogout.SharedSignals{Transmitter: tr.URL},
	})
	if err == nil {
		bl.Close(context.Background())
	}
	if !errors.Is(err, jwks.ErrFetch) || !errors.Is(err, discovery.ErrInsecureURL) {
		t.Fatalf("New: %v, want the redirect to http refused", err)
	}
}

// When the OP is the transmitter, its logout tokens and its SETs are
// verified with one key set: one refresher polls its jwks_uri, and a key
// it rotated in is fetched once for both.
func TestSharedSignalsOneKeySetForTheOP(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{BearerToken: ssfBearer})
	before := a.op.JWKSFetches()
	if _, err := a.op.Rotate(); err != nil {
		t.Fatal(err)
	}
	logout, err := a.op.SignLogoutToken("app", "alice", "sid-a")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(a.srv.URL+"/backchannel-logout", url.Values{"logout_token": {logout}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout with the rotated key: %s", resp.Status)
	}
	set, err := a.op.SessionRevoked("app", "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	if status, code := a.push(t, ssfBearer, set); status != http.StatusAccepted {
		t.Fatalf("SET with the rotated key: %d %s", status, code)
	}
	if n := a.op.JWKSFetches() - before; n != 1 {
		t.Errorf("the OP's jwks_uri was fetched %d times for the rotated key, want once for both tokens", n)
	}
}

// googleTokensRevoked is the OAuth Event Types 1.0 event Google's
// Cross-Account Protection sends when the user revokes the app's access;
// for Sign in with Google it asks the app to end the user's sessions.
const googleTokensRevoked = "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked"

// Google's tokens-revoked, shaped as Google sends it (RISC issuer with
// its slash, legacy iss-sub subject), ends the user's sessions whether or
// not the SET carries typ; token-revoked (one refresh token) is
// acknowledged and handed to OnEvent; an ID token or a logout token posted
// to the endpoint is still refused.
func TestSharedSignalsGoogleTokensRevoked(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{}, opkit.WithRISCTransmitter())
	for _, withTyp := range []bool{true, false} {
		sub := fmt.Sprintf("google-user-%v", withTyp)
		c := a.login(t, sub, "sid-"+sub)
		tok := a.op.NewSET("app", googleTokensRevoked, map[string]any{
			"subject": map[string]any{"subject_type": "iss-sub", "iss": a.op.SETIssuer(), "sub": sub},
		})
		if !withTyp {
			delete(tok.Header, "typ")
		}
		if status, code := a.push(t, "", a.sign(t, tok)); status != http.StatusAccepted {
			t.Fatalf("typ %v: push %d %s", withTyp, status, code)
		}
		if got := a.page(t, c); got != "anonymous" {
			t.Errorf("typ %v: after tokens-revoked: %q, want anonymous", withTyp, got)
		}
	}

	c := a.login(t, "kept", "sid-kept")
	one := a.op.NewSET("app", "https://schemas.openid.net/secevent/oauth/event-type/token-revoked", map[string]any{
		"subject": map[string]any{"subject_type": "oauth_token", "token_type": "refresh_token",
			"token_identifier_alg": "prefix", "token": "1/a2b3"},
	})
	if status, code := a.push(t, "", a.sign(t, one)); status != http.StatusAccepted {
		t.Fatalf("token-revoked: %d %s", status, code)
	}
	if got := a.page(t, c); got != "signed in" {
		t.Errorf("after token-revoked of one refresh token: %q, want signed in", got)
	}
	if n := len(a.events); n != 3 || a.events[2] != "https://schemas.openid.net/secevent/oauth/event-type/token-revoked" {
		t.Errorf("OnEvent saw %v", a.events)
	}

	idTok := &opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
		"iss": a.op.SETIssuer(), "aud": "app", "sub": "kept", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		"nonce": "n", "jti": "id-token-1",
	}}
	logoutTok, err := a.op.SignLogoutToken("app", "kept", "sid-kept")
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"ID token": a.sign(t, idTok), "logout token": logoutTok} {
		if status, code := a.push(t, "", raw); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, status, code)
		}
	}
	if got := a.page(t, c); got != "signed in" {
		t.Errorf("after refused tokens: %q, want signed in", got)
	}
}

// A transmitter sends "bearer" as often as "Bearer": authentication
// schemes are case-insensitive (RFC 9110 §11.1).
func TestSharedSignalsBearerSchemeAnyCase(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{BearerToken: ssfBearer})
	c := a.login(t, "alice", "sid-a")
	set, err := a.op.SessionRevoked("app", "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/ssf", strings.NewReader(set))
	r.Header.Set("Content-Type", "application/secevent+jwt")
	r.Header.Set("Authorization", "bearer "+ssfBearer)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("lower-case bearer: %d", resp.StatusCode)
	}
	if got := a.page(t, c); got != "anonymous" {
		t.Errorf("after session-revoked: %q", got)
	}
}

// A transmitter that redelivers after an outage is served: a SET 30
// minutes old is accepted once, and refused as a replay after that.
func TestSharedSignalsLateRedeliveryAcceptedOnce(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{})
	c := a.login(t, "alice", "sid-a")
	tok := opkit.NewSET(a.op.SETIssuer(), "app", time.Now().Add(-30*time.Minute), opkit.CAEPSessionRevoked, nil)
	tok.Claims["sub_id"] = map[string]any{"format": "iss_sub", "iss": a.op.Issuer(), "sub": "alice"}
	set := a.sign(t, tok)
	// The login is younger than the event: it is not ended by it.
	if status, code := a.push(t, "", set); status != http.StatusAccepted {
		t.Fatalf("30 minutes late: %d %s", status, code)
	}
	if got := a.page(t, c); got != "signed in" {
		t.Errorf("a login after the late event's iat: %q, want signed in", got)
	}
	if status, code := a.push(t, "", set); status != http.StatusBadRequest || code != "invalid_request" {
		t.Errorf("the same SET again: %d %s, want 400 invalid_request", status, code)
	}
}

// A complex subject whose user MapSubject does not know is acknowledged
// (202) and ends nothing, as the MapSubject docs say.
func TestSharedSignalsUnknownMappedUserAcknowledged(t *testing.T) {
	a := newSSFApp(t, bclogout.SharedSignals{MapSubject: func(context.Context, map[string]any) (string, error) { return "", nil }})
	tok := a.op.NewSET("app", opkit.CAEPSessionRevoked, nil)
	tok.Claims["sub_id"] = map[string]any{"format": "complex", "user": map[string]any{"format": "email", "email": "nobody@example.com"}}
	if status, code := a.push(t, "", a.sign(t, tok)); status != http.StatusAccepted {
		t.Errorf("unknown user: %d %s, want 202", status, code)
	}
}

// oktaOrg serves an Okta-shaped tenant on one origin: the org, which
// transmits SETs (https://example.okta.com: its SSF configuration), and
// a custom authorization server, the app's OP
// (https://example.okta.com/oauth2/default), over the keys of op.
func oktaOrg(t *testing.T, op *opkit.OP) (org, issuer string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	org = "http://" + srv.Listener.Addr().String()
	issuer = org + "/oauth2/default"
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/oauth2/default/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, issuer, op.JWKSURL())
		case "/.well-known/ssf-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"delivery_methods_supported":["urn:ietf:rfc:8935"]}`, org, op.JWKSURL())
		default:
			http.NotFound(w, r)
		}
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return org, issuer
}

// Okta's documented session-revoked, with the README's Okta setup
// (Transmitter the org, Issuer a custom authorization server): the
// subject sits in the event as {"user": {iss_sub of the org}} without
// "format": "complex", and it ends that user's session, no one else's.
func TestSharedSignalsOktaSessionRevoked(t *testing.T) {
	op := opkit.New(t)
	org, issuer := oktaOrg(t, op)
	s := newMemSessions()
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: issuer, ClientID: "0oa-app", Sessions: s,
		SharedSignals: &bclogout.SharedSignals{Transmitter: org, Audience: "https://app.example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	login := func(sub string) *http.Cookie {
		w := httptest.NewRecorder()
		if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idTokenFor(t, op, "0oa-app", issuer, sub, "sid-"+sub, time.Now().Add(-time.Second))); err != nil {
			t.Fatal(err)
		}
		return w.Result().Cookies()[0]
	}
	alice, bob := login("00u-alice"), login("00u-bob")
	tok := opkit.NewSET(org, "https://app.example.com", time.Now(), opkit.CAEPSessionRevoked, map[string]any{
		"event_timestamp":   time.Now().Unix(),
		"initiating_entity": "policy",
		"reason_admin":      map[string]any{"en": "Sign-out of all sessions"},
		"subject": map[string]any{
			"user": map[string]any{"format": "iss_sub", "iss": org, "sub": "00u-alice"},
		},
	})
	set, err := tok.Sign(op.Key())
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/shared-signals", strings.NewReader(set))
	r.Header.Set("Content-Type", "application/secevent+jwt")
	bl.Endpoints(nil).ServeHTTP(w, r)
	if w.Code != http.StatusAccepted {
		t.Fatalf("Okta's session-revoked: %d %s", w.Code, w.Body)
	}
	page := func(c *http.Cookie) string {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := s.get(r, "login"); ok {
				io.WriteString(w, "signed in")
				return
			}
			io.WriteString(w, "anonymous")
		})).ServeHTTP(w, r)
		return w.Body.String()
	}
	if got := page(alice); got != "anonymous" {
		t.Errorf("alice after Okta's session-revoked: %q", got)
	}
	if got := page(bob); got != "signed in" {
		t.Errorf("bob: %q", got)
	}
}

// A transmitter that is not the OP dates its SETs by its own clock, which
// may lag the OP's by less than the clock skew its SETs are accepted
// with. A session-revoked it sends ten seconds after a login, from a clock
// thirty seconds behind the OP's, must still end that login: its iat is
// no OP date, and compared with the login's iat (the OP's clock) as if it
// were, it dates the revocation before a login that came first.
func TestSharedSignalsOtherTransmitterClockBehindEndsEarlierLogin(t *testing.T) {
	op := opkit.New(t)
	var trURL string
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/ssf-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, trURL, op.JWKSURL())
	}))
	defer tr.Close()
	trURL = tr.URL
	s := newMemSessions()
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: s,
		SharedSignals: &bclogout.SharedSignals{Transmitter: trURL, MapSubject: func(_ context.Context, id map[string]any) (string, error) {
			email, _ := id["email"].(string)
			return strings.TrimSuffix(email, "@example.com"), nil
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)

	now := time.Now()
	w := httptest.NewRecorder()
	if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", now.Add(-10*time.Second))); err != nil {
		t.Fatal(err)
	}
	alice := w.Result().Cookies()[0]

	// The event happens now; the transmitter's clock reads 30 s earlier.
	tok := opkit.NewSET(trURL, "app", now.Add(-30*time.Second), opkit.CAEPSessionRevoked, map[string]any{
		"subject": map[string]any{"format": "email", "email": "alice@example.com"},
	})
	set, err := tok.Sign(op.Key())
	if err != nil {
		t.Fatal(err)
	}
	w = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/shared-signals", strings.NewReader(set))
	r.Header.Set("Content-Type", "application/secevent+jwt")
	bl.Endpoints(nil).ServeHTTP(w, r)
	if w.Code != http.StatusAccepted {
		t.Fatalf("session-revoked: %d %s", w.Code, w.Body)
	}
	if got := fcPage(bl, s, alice); got != "anonymous" {
		t.Errorf("a login 10 s before the transmitter's session-revoked: %q, want anonymous", got)
	}
}

// RFC 9493's aliases format (§3.2.8) names one subject by several
// identifiers. One that is the OP's own iss_sub names the user as the OP
// does: the session-revoked ends that user's sessions, with no MapSubject
// (not refused as invalid_request, a 400 the transmitter does not retry),
// and with a MapSubject that maps another of the identifiers to someone
// else (the address was reassigned, the directory is stale), whose
// sessions it must not end instead.
func TestSharedSignalsAliasesSubjectEndsTheUserTheOPsIssSubNames(t *testing.T) {
	for name, mapSubject := range map[string]func(context.Context, map[string]any) (string, error){
		"no MapSubject": nil,
		"a stale MapSubject": func(_ context.Context, id map[string]any) (string, error) {
			if id["email"] == "alice@example.com" {
				return "bob", nil // alice's former address, now bob's here
			}
			return "", nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			a := newSSFApp(t, bclogout.SharedSignals{MapSubject: mapSubject})
			alice, bob := a.login(t, "alice", "sid-a"), a.login(t, "bob", "sid-b")
			tok := a.op.NewSET("app", opkit.CAEPSessionRevoked, nil)
			tok.Claims["sub_id"] = map[string]any{"format": "aliases", "identifiers": []any{
				map[string]any{"format": "email", "email": "alice@example.com"},
				map[string]any{"format": "iss_sub", "iss": a.op.Issuer(), "sub": "alice"},
			}}
			if status, code := a.push(t, "", a.sign(t, tok)); status != http.StatusAccepted {
				t.Fatalf("aliases subject: %d %s, want 202", status, code)
			}
			if got := a.page(t, alice); got != "anonymous" {
				t.Errorf("alice after a session-revoked naming her by the OP's iss_sub among aliases: %q, want anonymous", got)
			}
			if got := a.page(t, bob); got != "signed in" {
				t.Errorf("bob: %q, want signed in", got)
			}
		})
	}
}

// SharedSignals.MapSubject's doc says subject["format"] tells which
// identifier it is given. RISC's legacy subjects (Google's) name it
// subject_type, with hyphens, which the receiver reads as the format: a
// MapSubject written to the doc must see the format there too, or it
// takes a known user for an unknown one (202, nothing ended) or fails.
func TestSharedSignalsMapSubjectSeesTheFormatOfALegacySubject(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	a := newSSFApp(t, bclogout.SharedSignals{MapSubject: func(_ context.Context, id map[string]any) (string, error) {
		f, _ := id["format"].(string)
		mu.Lock()
		seen = append(seen, f)
		mu.Unlock()
		return "", nil
	}})
	for _, tc := range []struct{ subjectType, member, want string }{
		{"email", "email", "email"},
		{"phone-number", "phone_number", "phone_number"},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		tok := a.op.NewSET("app", opkit.RISCSessionsRevoked, map[string]any{"subject": map[string]any{"subject_type": tc.subjectType, tc.member: "x"}})
		if status, code := a.push(t, "", a.sign(t, tok)); status != http.StatusAccepted {
			t.Fatalf("subject_type %q: %d %s, want 202", tc.subjectType, status, code)
		}
		mu.Lock()
		if len(seen) != 1 || seen[0] != tc.want {
			t.Errorf("subject_type %q: MapSubject saw format %q, want [%q]", tc.subjectType, seen, tc.want)
		}
		mu.Unlock()
	}
}

// flakyReplay is an in-memory replay cache whose Seen fails while down is
// set.
type flakyReplay struct {
	replay.Cache
	down atomic.Bool
}

func (f *flakyReplay) Seen(ctx context.Context, issuer, jti string) (bool, error) {
	if f.down.Load() {
		return false, errors.New("replay cache unavailable")
	}
	return f.Cache.Seen(ctx, issuer, jti)
}

// A SET that is only acknowledged (no sessions to end) and that met a
// replay cache down is answered 503, so that the transmitter delivers it
// again (RFC 8935 §4 leaves retries to it): that delivery is accepted and
// reaches OnEvent, the only place such an event goes. Queued, it would
// end nothing, and its record would refuse the delivery as a replay.
func TestSharedSignalsAcknowledgedEventRedeliveredAfterAStoreFailure(t *testing.T) {
	op := opkit.New(t)
	rc := &flakyReplay{Cache: replay.NewMemory(0)}
	m := &doorMetrics{}
	var mu sync.Mutex
	var events []string
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions(), ReplayCache: rc, Metrics: m,
		SharedSignals: &bclogout.SharedSignals{OnEvent: func(_ context.Context, ev *rp.SecurityEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev.Type)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	const credentialChange = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	tok := op.NewSET("app", credentialChange, map[string]any{"credential_type": "password", "change_type": "update"})
	tok.Claims["sub_id"] = map[string]any{"format": "iss_sub", "iss": op.Issuer(), "sub": "alice"}
	set, err := tok.Sign(op.Key())
	if err != nil {
		t.Fatal(err)
	}
	push := func() int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/shared-signals", strings.NewReader(set))
		r.Header.Set("Content-Type", "application/secevent+jwt")
		bl.Endpoints(nil).ServeHTTP(w, r)
		return w.Code
	}
	rc.down.Store(true)
	if got := push(); got != http.StatusServiceUnavailable {
		t.Fatalf("with the replay cache down: %d, want 503", got)
	}
	rc.down.Store(false)
	// Never queued: a retry of the queue's would record the jti before
	// the transmitter's redelivery.
	if n := m.count("sharedsignals:queued"); n != 0 {
		t.Fatalf("sharedsignals:queued counted %d times, want 0; metrics %v", n, m.got)
	}
	if got := push(); got != http.StatusAccepted {
		t.Errorf("the transmitter's redelivery: %d, want 202", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0] != credentialChange {
		t.Errorf("OnEvent saw %v, want the credential-change once", events)
	}
}
