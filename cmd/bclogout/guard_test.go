package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/sessionadapter"
)

const guardClient = "app"

// guardFixture is a guard in front of a counting app, trusting a fake OP
// that delivers its logouts to the guard's back-channel endpoint.
type guardFixture struct {
	op       *opkit.OP
	g        *guard
	srv      *httptest.Server // the guard
	appHits  atomic.Int32
	registry *prometheus.Registry
}

func defaultGuardFlags() guardFlags {
	return guardFlags{
		clientID: guardClient, addr: "127.0.0.1:0", authPath: "/bclogout/auth",
		logoutPath: "/backchannel-logout", frontPath: "/frontchannel-logout",
		signOutURL: "/oauth2/sign_out", header: "Authorization", maxSessionAge: oauth2ProxyCookieExpire,
	}
}

// newGuardFixture starts the OP, the app and the guard; edit changes the
// flags (issuer and upstream are set first).
func newGuardFixture(t testing.TB, edit func(*guardFlags)) *guardFixture {
	t.Helper()
	return newGuardFixtureOf(t, opkit.New(t), edit)
}

// newGuardFixtureOf is newGuardFixture trusting op.
func newGuardFixtureOf(t testing.TB, op *opkit.OP, edit func(*guardFlags)) *guardFixture {
	t.Helper()
	fx := &guardFixture{op: op, registry: prometheus.NewRegistry()}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fx.appHits.Add(1)
		_, _ = io.WriteString(w, "app:"+r.URL.RequestURI())
	}))
	t.Cleanup(app.Close)
	f := defaultGuardFlags()
	f.issuer, f.upstream = fx.op.Issuer(), app.URL
	if edit != nil {
		edit(&f)
	}
	var g atomic.Pointer[guard]
	fx.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.Load().ServeHTTP(w, r) }))
	t.Cleanup(fx.srv.Close)
	if err := fx.op.RegisterClient(opkit.Client{ID: guardClient, Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1/oauth2/callback"},
		BackchannelLogoutURI: fx.srv.URL + f.logoutPath}); err != nil {
		t.Fatal(err)
	}
	if err := f.check(); err != nil {
		t.Fatal(err)
	}
	gd, err := newGuard(t.Context(), f, slog.New(slog.DiscardHandler), guardDeps{metrics: fx.registry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := gd.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	g.Store(gd)
	fx.g = gd
	return fx
}

// idToken is what the OP's token endpoint returns for a login of sub in
// OP session sid: iat and exp as given, auth_time when not zero.
type idToken struct {
	iss, aud, sub, sid string
	iat, exp, authTime time.Time
}

func (fx *guardFixture) mint(t testing.TB, c idToken) string {
	t.Helper()
	return mintIDToken(t, fx.op, c)
}

// mintIDToken signs c with op's key; iss defaults to op's, aud to the
// app, iat to now and exp to an hour after iat.
func mintIDToken(t testing.TB, op *opkit.OP, c idToken) string {
	t.Helper()
	now := time.Now()
	if c.iss == "" {
		c.iss = op.Issuer()
	}
	if c.aud == "" {
		c.aud = guardClient
	}
	if c.iat.IsZero() {
		c.iat = now
	}
	if c.exp.IsZero() {
		c.exp = c.iat.Add(time.Hour)
	}
	claims := map[string]any{"iss": c.iss, "aud": c.aud, "sub": c.sub, "iat": c.iat.Unix(), "exp": c.exp.Unix()}
	if c.sid != "" {
		claims["sid"] = c.sid
	}
	if !c.authTime.IsZero() {
		claims["auth_time"] = c.authTime.Unix()
	}
	raw, err := (&opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: claims}).Sign(op.Key())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// login opens an OP session of sub that the app takes part in and
// returns its sid and ID token.
func (fx *guardFixture) login(t testing.TB, sub string) (sid, token string) {
	t.Helper()
	sid, err := fx.op.NewSession(sub, guardClient)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return sid, fx.mint(t, idToken{sub: sub, sid: sid, iat: now, authTime: now})
}

// endSession has the OP end sid and deliver the logout token to the guard.
func (fx *guardFixture) endSession(t *testing.T, sid string) {
	t.Helper()
	rep, err := fx.op.EndSession(t.Context(), sid)
	if err != nil || !rep.OK() || len(rep.Deliveries) != 1 {
		t.Fatalf("end session: %v, %+v", err, rep)
	}
}

// do sends a request through the guard with the header set (none when
// empty), following no redirect.
func (fx *guardFixture) do(t *testing.T, method, path string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, fx.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// The forward-auth endpoint answers 200 for a live login only: a login the
// OP logged out, a missing, forged, foreign, mis-addressed or too old ID
// token all get 401, and another user's login stays live.
func TestGuardForwardAuthAnswers(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream = "" })
	aliceSID, alice := fx.login(t, "alice")
	_, bob := fx.login(t, "bob")
	other := opkit.New(t)
	now := time.Now()
	foreign, err := (&opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
		"iss": other.Issuer(), "aud": guardClient, "sub": "alice", "sid": aliceSID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}}).Sign(other.Key())
	if err != nil {
		t.Fatal(err)
	}
	fx.endSession(t, aliceSID)

	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{name: "live login", header: bearer(bob), want: http.StatusOK},
		{name: "logged out by the OP", header: bearer(alice), want: http.StatusUnauthorized},
		{name: "no token", header: nil, want: http.StatusUnauthorized},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}, want: http.StatusUnauthorized},
		{name: "basic scheme", header: http.Header{"Authorization": {"Basic YTpi"}}, want: http.StatusUnauthorized},
		{name: "two tokens", header: http.Header{"Authorization": {"Bearer " + bob, "Bearer " + bob}}, want: http.StatusUnauthorized},
		{name: "forged", header: bearer(opkit.Tamper(bob)), want: http.StatusUnauthorized},
		{name: "another issuer's key and iss", header: bearer(foreign), want: http.StatusUnauthorized},
		{name: "another client's token", header: bearer(fx.mint(t, idToken{aud: "other-app", sub: "bob", sid: "s-b"})), want: http.StatusUnauthorized},
		{name: "a logout token", header: bearer(fx.op.LogoutToken(guardClient, "bob", "s-b")), want: http.StatusUnauthorized},
		{name: "past exp within the session age", header: bearer(fx.mint(t, idToken{sub: "bob", sid: "s-b2", iat: now.Add(-50 * time.Hour), exp: now.Add(-49 * time.Hour)})), want: http.StatusOK},
		{name: "login older than the session age", header: bearer(fx.mint(t, idToken{sub: "bob", sid: "s-b3", iat: now.Add(-169 * time.Hour), exp: now.Add(-100 * time.Hour)})), want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := fx.do(t, http.MethodGet, "/bclogout/auth", tt.header)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
}

// In upstream mode a live login reaches the app; a logged-out one is sent
// to oauth2-proxy's sign-out on a page load and refused otherwise, and a
// request without a valid ID token never reaches the app.
func TestGuardUpstreamRefusesLoggedOutLogins(t *testing.T) {
	fx := newGuardFixture(t, nil)
	aliceSID, alice := fx.login(t, "alice")
	_, bob := fx.login(t, "bob")
	fx.endSession(t, aliceSID)
	html := "text/html,application/xhtml+xml,*/*;q=0.8"

	tests := []struct {
		name         string
		method, path string
		header       http.Header
		want         int
		wantLocation string
		wantApp      bool
	}{
		{name: "live page load", method: http.MethodGet, path: "/page?x=1", header: with(bearer(bob), "Accept", html), want: http.StatusOK, wantApp: true},
		{name: "live post", method: http.MethodPost, path: "/api", header: bearer(bob), want: http.StatusOK, wantApp: true},
		{name: "logged-out page load", method: http.MethodGet, path: "/page?x=1", header: with(bearer(alice), "Accept", html), want: http.StatusFound, wantLocation: "/oauth2/sign_out?rd=%2Fpage%3Fx%3D1"},
		{name: "logged-out head", method: http.MethodHead, path: "/", header: with(bearer(alice), "Accept", html), want: http.StatusFound, wantLocation: "/oauth2/sign_out?rd=%2F"},
		{name: "logged-out api call", method: http.MethodGet, path: "/api", header: with(bearer(alice), "Accept", "application/json"), want: http.StatusUnauthorized},
		{name: "logged-out form post", method: http.MethodPost, path: "/form", header: with(bearer(alice), "Accept", html), want: http.StatusUnauthorized},
		{name: "no token", method: http.MethodGet, path: "/", header: http.Header{"Accept": {html}}, want: http.StatusUnauthorized},
		{name: "forged", method: http.MethodGet, path: "/", header: with(bearer(opkit.Tamper(bob)), "Accept", html), want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fx.appHits.Load()
			resp := fx.do(t, tt.method, tt.path, tt.header)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := resp.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location %q, want %q", got, tt.wantLocation)
			}
			if reached := fx.appHits.Load() > before; reached != tt.wantApp {
				t.Errorf("app reached: %v, want %v", reached, tt.wantApp)
			}
		})
	}
}

func with(h http.Header, k, v string) http.Header {
	h.Set(k, v)
	return h
}

// A token refreshed after the OP logged its session out cannot revive the
// login. The OP refuses the refresh (the fake OP's refresh below, as a
// correct OP does); and should an OP mint one anyway, for the same sid
// with an iat after the logout, its auth_time (the login's) predates the
// logout and the guard refuses it. Without auth_time such a token is
// judged by its iat alone and passes: the gap the README names.
func TestGuardRefreshAfterLogoutDoesNotReviveLogin(t *testing.T) {
	// The OP's clock runs 90 s behind (its logout token, which lives two
	// minutes, still valid), so that a token it dates beyond the sid skew
	// after its logout is not dated past the clock skew ahead.
	opNow := func() time.Time { return time.Now().Add(-90 * time.Second) }
	fx := newGuardFixtureOf(t, opkit.New(t, opkit.WithClock(opNow)), func(f *guardFlags) { f.upstream = "" })
	authTime := opNow().Add(-10 * time.Minute)
	sid, err := fx.op.NewSession("alice", guardClient)
	if err != nil {
		t.Fatal(err)
	}
	// refresh is the OP's refresh_token grant: a new ID token for a live
	// OP session, an error for an ended one.
	refresh := func(at time.Time) (string, error) {
		for _, s := range fx.op.Sessions("alice") {
			if s == sid {
				return fx.mint(t, idToken{sub: "alice", sid: sid, iat: at, authTime: authTime}), nil
			}
		}
		return "", errors.New("invalid_grant: the session has ended")
	}
	before, err := refresh(opNow())
	if err != nil {
		t.Fatal(err)
	}
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(before)).StatusCode; got != http.StatusOK {
		t.Fatalf("before the logout: %d, want 200", got)
	}
	fx.endSession(t, sid)
	if _, err := refresh(opNow()); err == nil {
		t.Fatal("the OP refreshed an ended session")
	}

	later := opNow().Add(2 * time.Minute) // beyond the one-minute sid skew
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{name: "the login's token", token: before, want: http.StatusUnauthorized},
		{name: "refreshed anyway, with auth_time", token: fx.mint(t, idToken{sub: "alice", sid: sid, iat: later, authTime: authTime}), want: http.StatusUnauthorized},
		{name: "refreshed anyway, without auth_time", token: fx.mint(t, idToken{sub: "alice", sid: sid, iat: later}), want: http.StatusOK},
		{name: "a new login, new sid", token: fx.mint(t, idToken{sub: "alice", sid: "new-sid", iat: later, authTime: later}), want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tt.token)).StatusCode; got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// The auth_time rule is the sid's only: after a logout of all of a user's
// sessions, a new login whose OP kept an older auth_time (single sign-on
// from another session) is judged by its iat and stays live.
func TestGuardUserLogoutJudgesNewLoginsByIat(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream = "" })
	authTime := time.Now().Add(-time.Hour)
	old := fx.mint(t, idToken{sub: "carol", sid: "s-1", iat: time.Now(), authTime: authTime})
	logout, err := fx.op.SignLogoutToken(guardClient, "carol", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(fx.srv.URL+"/backchannel-logout", url.Values{"logout_token": {logout}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	fresh := fx.mint(t, idToken{sub: "carol", sid: "s-2", iat: time.Now().Add(2 * time.Second), authTime: authTime})
	for token, want := range map[string]int{old: http.StatusUnauthorized, fresh: http.StatusOK} {
		if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(token)).StatusCode; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	}
}

// --id-token-header names another header (oauth2-proxy's
// X-Forwarded-Id-Token style), whose value is the bare token or a Bearer.
func TestGuardReadsConfiguredHeader(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream, f.header = "", "X-Id-Token" })
	_, tok := fx.login(t, "dave")
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{name: "bare token", header: http.Header{"X-Id-Token": {tok}}, want: http.StatusOK},
		{name: "bearer", header: http.Header{"X-Id-Token": {"Bearer " + tok}}, want: http.StatusOK},
		{name: "in Authorization instead", header: bearer(tok), want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fx.do(t, http.MethodGet, "/bclogout/auth", tt.header).StatusCode; got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// The OP's front-channel logout (iss and sid in the query) ends the login
// as the back-channel one does.
func TestGuardFrontChannelLogoutEndsLogin(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream = "" })
	sid, tok := fx.login(t, "erin")
	resp := fx.do(t, http.MethodGet, "/frontchannel-logout?"+url.Values{"iss": {fx.op.Issuer()}, "sid": {sid}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("front-channel logout: %d", resp.StatusCode)
	}
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tok)).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("after front-channel logout: %d, want 401", got)
	}
}

// The logout doors are served at the paths the flags give, ahead of the
// upstream, and the default paths are then the app's like any other: the
// OP's delivery to --logout-path and a frame at --frontchannel-path each
// end a login, and a logged-out token still gets no request through to the
// app, whatever its path.
func TestGuardServesTheLogoutPathsItIsGiven(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.logoutPath, f.frontPath = "/oidc/backchannel", "/oidc/frontchannel" })
	sid, tok := fx.login(t, "heidi")
	fx.endSession(t, sid) // delivered to the registered URL, at --logout-path
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tok)).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("after the back-channel logout to --logout-path: %d, want 401", got)
	}
	sid, tok = fx.login(t, "ivan")
	if got := fx.do(t, http.MethodGet, "/oidc/frontchannel?"+url.Values{"iss": {fx.op.Issuer()}, "sid": {sid}}.Encode(), nil).StatusCode; got != http.StatusOK {
		t.Fatalf("front-channel logout at --frontchannel-path: %d, want 200", got)
	}
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tok)).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("after the front-channel logout at --frontchannel-path: %d, want 401", got)
	}
	// The default paths are no door now: the guard judges them as the
	// app's, so a live login is proxied and a request without one is not.
	_, live := fx.login(t, "judy")
	for _, path := range []string{"/backchannel-logout", "/frontchannel-logout"} {
		hits := fx.appHits.Load()
		if got := fx.do(t, http.MethodGet, path, bearer(live)).StatusCode; got != http.StatusOK || fx.appHits.Load() != hits+1 {
			t.Errorf("GET %s with a live login: %d, app reached %v; want the app's 200", path, got, fx.appHits.Load() != hits)
		}
		if got := fx.do(t, http.MethodPost, path, nil).StatusCode; got != http.StatusUnauthorized {
			t.Errorf("POST %s without a login: %d, want the guard's 401", path, got)
		}
	}
}

// Front-channel logout is an unauthenticated write (anyone who learns a sid
// can sign that session out): as with the library's Config, the guard
// serves it only when --frontchannel-path names a path. Without one, a
// front-channel request is the app's and ends nothing.
func TestGuardServesNoFrontChannelByDefault(t *testing.T) {
	fs := flag.NewFlagSet("guard", flag.ContinueOnError)
	guardCommand().flags(fs)
	if def := fs.Lookup("frontchannel-path").DefValue; def != "" {
		t.Errorf("--frontchannel-path defaults to %q, want none", def)
	}
	fx := newGuardFixture(t, func(f *guardFlags) { f.frontPath = "" })
	sid, tok := fx.login(t, "kim")
	hits := fx.appHits.Load()
	if got := fx.do(t, http.MethodGet, "/frontchannel-logout?"+url.Values{"iss": {fx.op.Issuer()}, "sid": {sid}}.Encode(), bearer(tok)).StatusCode; got != http.StatusOK || fx.appHits.Load() != hits+1 {
		t.Errorf("front-channel request without --frontchannel-path: %d, app reached %v; want the app's 200", got, fx.appHits.Load() != hits)
	}
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tok)).StatusCode; got != http.StatusOK {
		t.Errorf("the login after a front-channel request no door served: %d, want 200", got)
	}
}

// A front-channel logout carries no OP date and is dated by this clock
// plus the OP clock skew, so a login the OP dated further ahead than that
// skew would outlive it: such an ID token is refused, as VerifyIDToken
// refuses it for an app, although --max-session-age widens the tolerance
// of exp.
func TestGuardFrontChannelLogoutEndsLoginDatedAhead(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream = "" })
	sid, err := fx.op.NewSession("erin", guardClient)
	if err != nil {
		t.Fatal(err)
	}
	ahead := time.Now().Add(10 * time.Minute) // the OP's clock, ten minutes fast
	tok := fx.mint(t, idToken{sub: "erin", sid: sid, iat: ahead, authTime: ahead})
	resp := fx.do(t, http.MethodGet, "/frontchannel-logout?"+url.Values{"iss": {fx.op.Issuer()}, "sid": {sid}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("front-channel logout: %d", resp.StatusCode)
	}
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tok)).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("after front-channel logout: %d, want 401", got)
	}
}

// A CAEP session-revoked Security Event Token pushed to --ssf-path ends
// the login as a logout token does; without the bearer token it is
// refused.
func TestGuardSharedSignalsEndLogin(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream, f.ssfPath, f.ssfBearer = "", "/ssf/events", "stream-secret" })
	sid, tok := fx.login(t, "grace")
	set, err := fx.op.SessionRevoked(guardClient, "grace", sid)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, err := fx.op.PushSET(t.Context(), fx.srv.URL+"/ssf/events", "wrong", set); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("push with a wrong bearer token: %d %v, want 401", code, err)
	}
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tok)).StatusCode; got != http.StatusOK {
		t.Fatalf("before the SET: %d, want 200", got)
	}
	if code, body, err := fx.op.PushSET(t.Context(), fx.srv.URL+"/ssf/events", "stream-secret", set); err != nil || code != http.StatusAccepted {
		t.Fatalf("push: %d %s %v, want 202", code, body, err)
	}
	if got := fx.do(t, http.MethodGet, "/bclogout/auth", bearer(tok)).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("after the SET: %d, want 401", got)
	}
}

// /readyz answers 503 until the keys and revocations are loaded and after
// Close; /metrics shows the doors' counters.
func TestGuardAdminEndpoints(t *testing.T) {
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream = "" })
	sid, _ := fx.login(t, "frank")
	fx.endSession(t, sid)
	var g atomic.Pointer[guard]
	admin := httptest.NewServer(adminHandler(func() bool { p := g.Load(); return p != nil && p.Ready() }, fx.registry))
	defer admin.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before loading: %d, want 503", code)
	}
	if code, _ := get("/livez"); code != http.StatusOK {
		t.Errorf("/livez: %d, want 200", code)
	}
	g.Store(fx.g)
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz loaded: %d, want 200", code)
	}
	code, body := get("/metrics")
	if code != http.StatusOK || !strings.Contains(body, `bclogout_logouts_accepted_total{door="backchannel"`) {
		t.Errorf("/metrics: %d, lacks the accepted logout:\n%s", code, body)
	}
	if err := fx.g.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after Close: %d, want 503", code)
	}
}

// The guard will not listen where other hosts can reach it, bypassing the
// auth proxy, unless told to.
func TestGuardFlagChecks(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*guardFlags)
		wantErr string
	}{
		{name: "loopback", edit: func(*guardFlags) {}},
		{name: "localhost", edit: func(f *guardFlags) { f.addr = "localhost:4181" }},
		{name: "ipv6 loopback", edit: func(f *guardFlags) { f.addr = "[::1]:4181" }},
		{name: "all interfaces", edit: func(f *guardFlags) { f.addr = ":4181" }, wantErr: "--allow-public"},
		{name: "public address", edit: func(f *guardFlags) { f.addr = "0.0.0.0:4181" }, wantErr: "--allow-public"},
		{name: "public, allowed", edit: func(f *guardFlags) { f.addr, f.allowPublic = "0.0.0.0:4181", true }},
		{name: "no issuer", edit: func(f *guardFlags) { f.issuer = "" }, wantErr: "--issuer"},
		{name: "upstream not http", edit: func(f *guardFlags) { f.upstream = "unix:/tmp/x" }, wantErr: "--upstream"},
		{name: "zero session age", edit: func(f *guardFlags) { f.maxSessionAge = 0 }, wantErr: "--max-session-age"},
		{name: "auth path with a wildcard", edit: func(f *guardFlags) { f.authPath = "/{x}" }, wantErr: "--auth-path"},
		{name: "auth path is the logout path", edit: func(f *guardFlags) { f.authPath = f.logoutPath }, wantErr: "--auth-path"},
		{name: "ssf path is the front-channel path", edit: func(f *guardFlags) { f.ssfPath = f.frontPath }, wantErr: "--ssf-path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := defaultGuardFlags()
			f.issuer = "https://op.example.com"
			tt.edit(&f)
			err := f.check()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("check: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("check: %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

// Every flag can come from BCLOGOUT_<NAME>; the command line wins.
func TestGuardFlagsFromEnvironment(t *testing.T) {
	env := map[string]string{
		"BCLOGOUT_ISSUER":          "https://op.example.com",
		"BCLOGOUT_ADDR":            "127.0.0.1:9999",
		"BCLOGOUT_MAX_SESSION_AGE": "24h",
		"BCLOGOUT_ALLOW_PUBLIC":    "true",
	}
	fs := flag.NewFlagSet("guard", flag.ContinueOnError)
	guardCommand().flags(fs)
	if err := fs.Parse([]string{"--addr", "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"issuer": "https://op.example.com", "addr": "127.0.0.1:1", "max-session-age": "24h0m0s", "allow-public": "true", "client-id": ""}
	for name, w := range want {
		if got := fs.Lookup(name).Value.String(); got != w {
			t.Errorf("--%s = %q, want %q", name, got, w)
		}
	}
	env["BCLOGOUT_MAX_SESSION_AGE"] = "a week"
	fs2 := flag.NewFlagSet("guard", flag.ContinueOnError)
	guardCommand().flags(fs2)
	if err := applyEnv(fs2, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil || !strings.Contains(err.Error(), "BCLOGOUT_MAX_SESSION_AGE") {
		t.Errorf("bad value: %v, want an error naming the variable", err)
	}
}

// The command refuses a public listen address as a usage error, before
// it contacts the OP.
func TestGuardCommandRefusesPublicAddr(t *testing.T) {
	code, _, stderr := runCmd(t, "", "guard", "--issuer", "https://op.invalid", "--client-id", "app", "--addr", "0.0.0.0:0")
	if code != exitUsage || !strings.Contains(stderr, "--allow-public") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// Instances that share Redis enforce a logout any one of them received.
func TestGuardInstancesShareRedisRevocations(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	url := "redis://" + rdb.Options().Addr
	share := func(f *guardFlags) { f.upstream, f.redisURL, f.redisPrefix = "", url, prefix }
	a := newGuardFixture(t, share)
	// b trusts the same OP: a second fixture's OP differs, so b is built
	// on a's.
	f := defaultGuardFlags()
	share(&f)
	f.issuer = a.op.Issuer()
	b, err := newGuard(t.Context(), f, slog.New(slog.DiscardHandler), guardDeps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	bsrv := httptest.NewServer(b)
	t.Cleanup(bsrv.Close)

	sid, alice := a.login(t, "alice")
	_, bob := a.login(t, "bob")
	learnt := b.revs.(sessionadapter.Watchable).Changed()
	a.endSession(t, sid) // delivered to a only
	select {
	case <-learnt: // b heard it from Redis
	case <-time.After(10 * time.Second):
		t.Fatal("b never learnt the revocation")
	}
	for _, srv := range []string{a.srv.URL, bsrv.URL} {
		for tok, want := range map[string]int{alice: http.StatusUnauthorized, bob: http.StatusOK} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv+"/bclogout/auth", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s: status %d, want %d", srv, resp.StatusCode, want)
			}
		}
	}
}

// With --auth-request-url the forward-auth check takes the ID token from
// the auth proxy's answer (here a stub of oauth2-proxy's /oauth2/auth that
// knows one cookie per user), never from the request, and passes the
// answer's identity headers on with a live login's 200.
func TestGuardForwardAuthAsksAuthProxy(t *testing.T) {
	var tokens atomic.Pointer[map[string]string] // cookie value → ID token
	var down atomic.Bool
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			panic(http.ErrAbortHandler)
		}
		c, err := r.Cookie("_oauth2_proxy")
		tok, ok := "", false
		if err == nil {
			tok, ok = (*tokens.Load())[c.Value]
		}
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Authorization", "Bearer "+tok)
		w.Header().Set("X-Auth-Request-User", c.Value)
		w.Header().Set("X-Internal", "not for nginx")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer stub.Close()
	fx := newGuardFixture(t, func(f *guardFlags) { f.upstream, f.authRequestURL = "", stub.URL+"/oauth2/auth" })
	aliceSID, alice := fx.login(t, "alice")
	_, bob := fx.login(t, "bob")
	tokens.Store(&map[string]string{"alice": alice, "bob": bob})
	fx.endSession(t, aliceSID)
	cookie := func(v string) http.Header { return http.Header{"Cookie": {"_oauth2_proxy=" + v}} }

	tests := []struct {
		name     string
		header   http.Header
		down     bool
		want     int
		wantUser string
	}{
		{name: "live login", header: cookie("bob"), want: http.StatusOK, wantUser: "bob"},
		{name: "logged out", header: cookie("alice"), want: http.StatusUnauthorized},
		{name: "not signed in at the auth proxy", header: nil, want: http.StatusUnauthorized},
		{name: "a token of the client's own", header: bearer(bob), want: http.StatusUnauthorized},
		{name: "auth proxy down", header: cookie("bob"), down: true, want: http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			down.Store(tt.down)
			resp := fx.do(t, http.MethodGet, "/bclogout/auth", tt.header)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := resp.Header.Get("X-Auth-Request-User"); got != tt.wantUser {
				t.Errorf("X-Auth-Request-User %q, want %q", got, tt.wantUser)
			}
			if got := resp.Header.Get("X-Internal"); got != "" {
				t.Errorf("passed on X-Internal %q", got)
			}
		})
	}
}

// FuzzGuardForwardAuth: whatever a client puts in the header the guard
// reads, the forward-auth endpoint answers 200 only for a live login's
// genuine ID token (however the scheme is spelled), 401 for everything
// else, and never panics.
func FuzzGuardForwardAuth(f *testing.F) {
	fx := newGuardFixture(f, func(fl *guardFlags) { fl.upstream = "" })
	_, live := fx.login(f, "bob")
	f.Add("Bearer " + live)
	f.Add("Bearer " + opkit.Tamper(live))
	f.Add("bearer ")
	f.Add("Basic YTpi")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/bclogout/auth", nil)
		r.Header.Set("Authorization", header)
		w := httptest.NewRecorder()
		fx.g.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			if !strings.Contains(header, live) {
				t.Fatalf("200 for %q, which does not carry the live login's token", header)
			}
		case http.StatusUnauthorized:
		default:
			t.Fatalf("status %d for %q", w.Code, header)
		}
	})
}
