package bclogout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/sessionadapter"
)

// signOutApp is an app served over HTTP with the sign-out routes, against
// the fake OP, where it is registered as client "app".
type signOutApp struct {
	*bclogout.RP
	op       *opkit.OP
	sessions *memSessions
	srv      *httptest.Server
	back     string // the PostLogoutRedirectURI: the sign-out route's URL
	mu       sync.Mutex
	tokens   map[string]string // the raw ID token of each login, by sid
}

func newSignOutApp(t *testing.T, opts ...opkit.Option) *signOutApp {
	t.Helper()
	op := opkit.New(t, opts...)
	s := newMemSessions()
	a := &signOutApp{op: op, sessions: s, tokens: make(map[string]string)}
	mux := http.NewServeMux()
	served := http.NewServeMux() // bl.Endpoints(mux) at "/", once bl is made
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An app-wide header that would forbid every frame: the
		// front-channel endpoint must lift it for the OP.
		w.Header().Set("X-Frame-Options", "DENY")
		served.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	a.back = a.srv.URL + "/signout"
	if err := op.RegisterClient(opkit.Client{
		ID: "app", RedirectURIs: []string{a.srv.URL + "/callback"}, PostLogoutRedirectURIs: []string{a.back},
		FrontchannelLogoutURI: a.srv.URL + "/frontchannel-logout",
	}); err != nil {
		t.Fatal(err)
	}
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: s, PostLogoutRedirectURI: a.back,
		FrontChannelPath: "/frontchannel-logout",
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	a.RP = bl
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		tok := idToken(t, op, op.Issuer(), r.FormValue("sub"), r.FormValue("sid"), time.Now().Add(-time.Second))
		if err := bl.Login(w, r, tok); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		a.mu.Lock()
		a.tokens[r.FormValue("sid")] = tok
		a.mu.Unlock()
	})
	// One route: the button's POST and the OP's way back (GET), which
	// lands on "/" (no Config.SignedOut).
	mux.Handle("/signout", bl.SignOut())
	mux.Handle("/", bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.get(r, "login"); ok {
			io.WriteString(w, "signed in")
			return
		}
		io.WriteString(w, "anonymous")
	})))
	served.Handle("/", bl.Endpoints(mux))
	return a
}

// browser returns a client with a cookie jar that does not follow
// redirects unless follow is set.
func browser(t *testing.T, follow bool) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

func fetch(t *testing.T, c *http.Client, method, target string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, strings.TrimSpace(string(b))
}

// signIn signs a browser in as sub in OP session sid and returns the
// session cookie, for copies of the browser (other tabs, a request in
// flight).
func (a *signOutApp) signIn(t *testing.T, c *http.Client, sub, sid string) *http.Cookie {
	t.Helper()
	resp, body := fetch(t, c, http.MethodGet, a.srv.URL+"/callback?sub="+sub+"&sid="+sid)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s %s", resp.Status, body)
	}
	u, _ := url.Parse(a.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "session" {
			return ck
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

func (a *signOutApp) page(t *testing.T, ck *http.Cookie) string {
	t.Helper()
	_, body := fetch(t, &http.Client{}, http.MethodGet, a.srv.URL+"/", ck)
	return body
}

func (a *signOutApp) loginData(sub, sid string) map[string]any {
	return map[string]any{"login": sessionadapter.Binding{Issuer: a.op.Issuer(), Subject: sub, SessionID: sid, LoginTime: time.Now().Add(-time.Second)}}
}

// TestSignOutRevokesBeforeRedirect: when the browser gets the redirect to
// the OP, the session is already ended everywhere: a copy of its cookie
// (another tab) and a write-back of its data (a request in flight) find
// it signed out, and another user's session is untouched.
func TestSignOutRevokesBeforeRedirect(t *testing.T) {
	a := newSignOutApp(t)
	br := browser(t, false)
	alice := a.signIn(t, br, "alice", "sid-a")
	bob := a.signIn(t, browser(t, false), "bob", "sid-b")
	saved := a.sessions.saved(alice.Value) // as a request in flight holds it

	resp, body := fetch(t, br, http.MethodPost, a.srv.URL+"/signout")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %s %s", resp.Status, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != a.op.Issuer()+"/end_session" {
		t.Errorf("redirect to %s, want the end_session_endpoint", got)
	}
	if q.Get("client_id") != "app" || q.Get("post_logout_redirect_uri") != a.back || q.Get("state") == "" {
		t.Errorf("end_session parameters %v", q)
	}
	if q.Get("id_token_hint") != a.tokens["sid-a"] {
		t.Errorf("id_token_hint %q, want the raw ID token Login was given", q.Get("id_token_hint"))
	}

	a.sessions.writeBack(alice.Value, saved)
	if got := a.page(t, alice); got != "anonymous" {
		t.Errorf("alice's other tab after SignOut, before the OP: %q, want anonymous", got)
	}
	if got := a.page(t, bob); got != "signed in" {
		t.Errorf("bob after alice's sign-out: %q", got)
	}
}

// TestSignOutThroughOP follows the whole round trip through the fake OP
// (which verifies the id_token_hint) back to the route, which lands on the
// signed-out page ("/" without Config.SignedOut); then replays the way
// back and forges its state.
func TestSignOutThroughOP(t *testing.T) {
	a := newSignOutApp(t)
	br := browser(t, true)
	alice := a.signIn(t, br, "alice", "sid-a")
	resp, body := fetch(t, br, http.MethodPost, a.srv.URL+"/signout")
	if resp.StatusCode != http.StatusOK || body != "anonymous" || resp.Request.URL.String() != a.srv.URL+"/" {
		t.Fatalf("sign out round trip: %s %q at %s", resp.Status, body, resp.Request.URL)
	}
	back := resp.Request.Response.Request.URL.String() // the OP's redirect to the route
	if !strings.HasPrefix(back, a.back+"?") {
		t.Fatalf("the OP sent the browser to %s, want %s", back, a.back)
	}
	if got := a.page(t, alice); got != "anonymous" {
		t.Errorf("after sign-out: %q", got)
	}
	if sids := a.op.Sessions("alice"); len(sids) != 0 {
		t.Errorf("the OP session lives on: %v", sids)
	}

	// The state was used once: the same way back again is refused, and so
	// is a state this browser was never given.
	for _, target := range []string{back, a.back + "?state=forged"} {
		if resp, body := fetch(t, br, http.MethodGet, target); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %s %q, want 400", target, resp.Status, body)
		}
	}
}

// TestSignOutReturnState: the OP's way back lands on the signed-out page
// with this browser's state, or with none (Cognito; the conformance
// suite's rp-init-logout-no-state), and is refused with another; either
// way the state is forgotten, so a replay is refused.
func TestSignOutReturnState(t *testing.T) {
	a := newSignOutApp(t)
	start := func(t *testing.T) (*http.Client, string) {
		br := browser(t, false)
		a.signIn(t, br, "alice", rand.Text())
		resp, _ := fetch(t, br, http.MethodPost, a.srv.URL+"/signout")
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return br, loc.Query().Get("state")
	}
	tests := []struct {
		name  string
		state func(own string) string
		fresh bool // another browser, without the state cookie
		want  int
	}{
		{name: "own state", state: func(s string) string { return s }, want: http.StatusSeeOther},
		{name: "no state", state: func(string) string { return "" }, want: http.StatusSeeOther},
		{name: "no state, another browser", state: func(string) string { return "" }, fresh: true, want: http.StatusSeeOther},
		{name: "forged state", state: func(string) string { return "forged" }, want: http.StatusBadRequest},
		{name: "state of another browser", state: func(s string) string { return s }, fresh: true, want: http.StatusBadRequest},
	}
	route := a.SignOut()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br, own := start(t)
			if tt.fresh {
				br = browser(t, false)
			}
			u, _ := url.Parse(a.back)
			get := func(state string) *httptest.ResponseRecorder {
				target := a.back
				if state != "" {
					target += "?" + url.Values{"state": {state}}.Encode()
				}
				r := httptest.NewRequest(http.MethodGet, target, nil)
				for _, ck := range br.Jar.Cookies(u) {
					r.AddCookie(ck)
				}
				w := httptest.NewRecorder()
				route.ServeHTTP(w, r)
				br.Jar.SetCookies(u, w.Result().Cookies())
				return w
			}
			w := get(tt.state(own))
			if w.Code != tt.want {
				t.Fatalf("way back: %d, want %d", w.Code, tt.want)
			}
			if w.Code == http.StatusSeeOther && w.Header().Get("Location") != "/" {
				t.Errorf("signed-out page: Location %q, want /", w.Header().Get("Location"))
			}
			if w := get(own); w.Code != http.StatusBadRequest {
				t.Errorf("replayed: %d, want 400", w.Code)
			}
		})
	}
}

// TestSignOutRouteGETSignsNoOneOut: a link to the route (a GET, from any
// site) never ends a session; only the button's POST does. Other methods
// get 405.
func TestSignOutRouteGETSignsNoOneOut(t *testing.T) {
	a := newSignOutApp(t)
	br := browser(t, false)
	alice := a.signIn(t, br, "alice", "sid-a")
	for _, target := range []string{a.back, a.back + "?state=x"} {
		fetch(t, br, http.MethodGet, target)
	}
	if got := a.page(t, alice); got != "signed in" {
		t.Errorf("after GETs of the route: %q, want signed in", got)
	}
	resp, _ := fetch(t, br, http.MethodPut, a.back)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT: %s Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
	if got := a.page(t, alice); got != "signed in" {
		t.Errorf("after a PUT: %q, want signed in", got)
	}
}

func TestSignOutStateCookie(t *testing.T) {
	a := newSignOutApp(t)
	br := browser(t, false)
	a.signIn(t, br, "alice", "sid-a")
	resp, _ := fetch(t, br, http.MethodPost, a.srv.URL+"/signout")
	var found bool
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(ck.Name, "bclogout_signout_") {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.MaxAge > 600 || ck.Path != "/signout" {
				t.Errorf("state cookie %+v: want HttpOnly, SameSite=Lax, at most 10 minutes, on the way-back path", ck)
			}
		}
	}
	if !found {
		t.Fatalf("no state cookie in %v", resp.Header["Set-Cookie"])
	}
}

// TestSignOutOpenRedirect: the way back is the configured URI, whatever
// the request asks, and the OP sends no browser to an unregistered one.
func TestSignOutOpenRedirect(t *testing.T) {
	a := newSignOutApp(t)
	br := browser(t, false)
	a.signIn(t, br, "alice", "sid-a")
	evil := "https://evil.example/phish"
	resp, _ := fetch(t, br, http.MethodPost, a.srv.URL+"/signout?"+url.Values{"post_logout_redirect_uri": {evil}}.Encode())
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Query()["post_logout_redirect_uri"]; len(got) != 1 || got[0] != a.back {
		t.Errorf("post_logout_redirect_uri %v, want only %s", got, a.back)
	}
	// At the OP: the end_session request rewritten by the attacker.
	q := loc.Query()
	q.Set("post_logout_redirect_uri", evil)
	loc.RawQuery = q.Encode()
	resp, _ = fetch(t, browser(t, false), http.MethodGet, loc.String())
	if l := resp.Header.Get("Location"); strings.HasPrefix(l, "https://evil.example") {
		t.Errorf("the OP redirected to %s", l)
	}

	for _, bad := range []string{
		"http://app.example/signed-out",    // http off loopback
		"https://app.example/signed-out#x", // fragment
		"/signed-out",                      // relative
		"https://u:p@app.example/out",      // userinfo
		"javascript:alert(1)",
	} {
		_, err := bclogout.New(t.Context(), bclogout.Config{Issuer: a.op.Issuer(), ClientID: "app", Sessions: newMemSessions(), PostLogoutRedirectURI: bad})
		if !errors.Is(err, bclogout.ErrInvalidConfig) {
			t.Errorf("PostLogoutRedirectURI %q: %v, want ErrInvalidConfig", bad, err)
		}
	}
}

func TestSignOutNoEndSessionEndpoint(t *testing.T) {
	a := newSignOutApp(t, opkit.WithoutEndSession())
	br := browser(t, false)
	alice := a.signIn(t, br, "alice", "sid-a")
	saved := a.sessions.saved(alice.Value)
	resp, body := fetch(t, br, http.MethodPost, a.srv.URL+"/signout")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign out without end_session_endpoint: %s %q to %q, want the signed-out page", resp.Status, body, resp.Header.Get("Location"))
	}
	a.sessions.writeBack(alice.Value, saved)
	if got := a.page(t, alice); got != "anonymous" {
		t.Errorf("after sign-out: %q, want anonymous", got)
	}
}

// TestSignOutWithoutSID: a login without sid is ended, and no revocation
// by sub reaches the user's other devices.
func TestSignOutWithoutSID(t *testing.T) {
	a := newSignOutApp(t)
	br := browser(t, false)
	alice := a.signIn(t, br, "alice", "")
	laptop := a.signIn(t, browser(t, false), "alice", "")
	if resp, _ := fetch(t, br, http.MethodPost, a.srv.URL+"/signout"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %s", resp.Status)
	}
	if got := a.page(t, alice); got != "anonymous" {
		t.Errorf("signed-out session: %q", got)
	}
	if got := a.page(t, laptop); got != "signed in" {
		t.Errorf("alice's other device: %q, want signed in", got)
	}
}

// The sign-out state cookie is scoped to the PostLogoutRedirectURI's path
// as the browser sends it, escaped (RFC 6265 §5.1.4), so the route
// sees it on the way back to a path such as /d%C3%A9connexion.
func TestSignOutStateCookiePathEscaped(t *testing.T) {
	op := opkit.New(t)
	const path = "/d%C3%A9connexion"
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: newMemSessions(),
		PostLogoutRedirectURI: "http://127.0.0.1:8080" + path,
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	w := httptest.NewRecorder()
	bl.SignOut().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/signout", nil))
	for _, c := range w.Result().Cookies() {
		if !strings.HasPrefix(c.Name, "bclogout_signout_") {
			continue
		}
		if c.Path != path {
			t.Errorf("state cookie %s has Path %q; the browser comes back on %q and will not send it", c.Name, c.Path, path)
		}
		return
	}
	t.Fatal("SignOut set no state cookie")
}

// TestSignOutThenSingleSignOn: after SignOut, a single sign-on in an OP
// session that lives on (no end_session_endpoint, or the user declined at
// the OP) is refused within the OP clock skew after the signed-out login,
// since a sid revocation also ends logins up to a minute after its date
// (fail closed), and accepted after it. SignOut dates the revocation at
// the login's own iat, so that a store with any tolerance ends this login
// and deletes its binding. The same holds when the OP's ID tokens carry
// auth_time (Keycloak, Auth0, Okta and most others), which the new token
// keeps from the user's one authentication, before the signed-out login:
// SignOut ended this app's login, not the OP session, so a login is
// judged by its iat (judged by auth_time, every later sign-on of that OP
// session would be refused for as long as the revocation is kept).
func TestSignOutThenSingleSignOn(t *testing.T) {
	for _, withAuthTime := range []bool{false, true} {
		t.Run(fmt.Sprintf("auth_time=%v", withAuthTime), func(t *testing.T) {
			a := newApp(t, bclogout.Config{})
			first := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
			login := func(w http.ResponseWriter, iat time.Time) error {
				claims := map[string]any{"iss": a.op.Issuer(), "sub": "alice", "aud": "app", "sid": "sid-a", "iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix()}
				if withAuthTime {
					claims["auth_time"] = first.Add(-10 * time.Minute).Unix()
				}
				raw, err := (&opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: claims}).Sign(a.op.Key())
				if err != nil {
					t.Fatal(err)
				}
				return a.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), raw)
			}
			w := httptest.NewRecorder()
			if err := login(w, first); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, "/signout", nil)
			r.AddCookie(w.Result().Cookies()[0])
			postSignOut(t, a.RP, r)
			for _, tc := range []struct {
				after time.Duration
				want  error
			}{
				{20 * time.Second, sessionadapter.ErrRevoked},
				{90 * time.Second, nil},
			} {
				if err := login(httptest.NewRecorder(), first.Add(tc.after)); !errors.Is(err, tc.want) {
					t.Errorf("single sign-on %v after the signed-out login: %v, want %v", tc.after, err, tc.want)
				}
			}
		})
	}
}

// exactRevocations is a conforming Revocations (sessionadapter's
// interface: "recorded at or after b.LoginTime less a clock-skew
// tolerance (a minute by default …)") whose tolerance is zero: an OP
// with one clock, or an app's own store.
type exactRevocations struct {
	mu sync.Mutex
	at map[[2]string]time.Time
}

func (e *exactRevocations) Revoke(_ context.Context, l sessionadapter.Logout, _ time.Duration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	at := l.IssuedAt
	if at.IsZero() {
		at = time.Now()
	}
	k := [2]string{l.Issuer, l.SessionID}
	if cur, ok := e.at[k]; !ok || at.After(cur) {
		e.at[k] = at
	}
	return nil
}

func (e *exactRevocations) Revoked(_ context.Context, b sessionadapter.Binding) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.at[[2]string{b.Issuer, b.SessionID}]
	return ok && !at.Before(b.LoginTime), nil
}

// SignOut dates its revocation at the login's own iat, so Revocations
// with any clock-skew tolerance (none here) end the signed-out login, and
// a session an other tab's request writes back is not served again.
func TestSignOutEndsTheLoginWhateverTheRevocationsSkew(t *testing.T) {
	a := newApp(t, bclogout.Config{Revocations: &exactRevocations{at: map[[2]string]time.Time{}}})
	alice := a.login(t, "alice", "sid-a")
	saved := a.sessions.saved(alice.Value) // another tab's request in flight
	r := httptest.NewRequest(http.MethodPost, "/signout", nil)
	r.AddCookie(alice)
	postSignOut(t, a.RP, r)
	a.sessions.writeBack(alice.Value, saved)
	if got := a.page(t, alice); got != "anonymous" {
		t.Fatalf("after SignOut, the written-back session is %q", got)
	}
}

// SignOut's revocation is not older than the login, so the bindings store
// forgets the signed-out session's binding and deletes its data.
func TestSignOutDeletesItsBinding(t *testing.T) {
	mem, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, bclogout.Config{Bindings: mem})
	alice := a.login(t, "alice", "sid-a")
	r := httptest.NewRequest(http.MethodPost, "/signout", nil)
	r.AddCookie(alice)
	postSignOut(t, a.RP, r)
	if n, err := mem.EndSessions(t.Context(), sessionadapter.Logout{Issuer: a.op.Issuer(), SessionID: "sid-a"}); err != nil || n != 0 {
		t.Fatalf("after SignOut the bindings store still held %d binding(s) of the signed-out OP session (err %v)", n, err)
	}
}

// postSignOut is the Sign out button's POST of r to bl's route, which
// must succeed (303 to the OP, or to the signed-out page).
func postSignOut(t *testing.T, bl *bclogout.RP, r *http.Request) {
	t.Helper()
	w := httptest.NewRecorder()
	bl.SignOut().ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d %s", w.Code, w.Body)
	}
}

// TestSignOutCognito: AWS Cognito, recognised by its issuer, has a
// discovered end_session_endpoint (/logout on the user pool's domain) that
// takes client_id and logout_uri, not post_logout_redirect_uri, and comes
// back without state. Sign out against such an OP ends the session here
// and lands on the signed-out page. The OP is an httptest TLS server that
// the RP's and the browser's HTTP client reach for Cognito's host names.
func TestSignOutCognito(t *testing.T) {
	const issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
	const logoutURL = "https://auth.example.amazoncognito.com/logout"
	keys := opkit.New(t) // its key signs the ID tokens; Cognito serves it
	var logoutURI string // the app's sign-out URL, registered at Cognito
	cognito := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Host + r.URL.Path {
		case "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"end_session_endpoint":%q,"id_token_signing_alg_values_supported":["RS256"]}`,
				issuer, issuer+"/.well-known/jwks.json", logoutURL)
		case "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example/.well-known/jwks.json":
			w.Header().Set("Content-Type", "application/json")
			w.Write(keys.JWKS())
		case "auth.example.amazoncognito.com/logout":
			// Cognito's rules: client_id and a registered logout_uri, or an
			// error page; it redirects there with no state.
			q := r.URL.Query()
			if q.Get("client_id") != "app" || q.Get("logout_uri") != logoutURI {
				http.Error(w, "Required String parameter 'redirect_uri' is not present", http.StatusBadRequest)
				return
			}
			http.Redirect(w, r, logoutURI, http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	cognito.StartTLS()
	t.Cleanup(cognito.Close)
	tr := cognito.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // httptest's certificate names it
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasSuffix(addr, ".amazonaws.com:443") || strings.HasSuffix(addr, ".amazoncognito.com:443") {
			addr = cognito.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}

	s := newMemSessions()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	logoutURI = srv.URL + "/signout"
	// Cognito's /logout refuses a request without logout_uri (an error
	// page, its session left on, so the next sign-in needs no password):
	// without PostLogoutRedirectURI there is none to send, and New says so.
	if bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: issuer, ClientID: "app", Sessions: s, HTTPClient: &http.Client{Transport: tr},
	}); !errors.Is(err, bclogout.ErrInvalidConfig) {
		if err == nil {
			closeRP(t, bl)
		}
		t.Fatalf("New without PostLogoutRedirectURI = %v, want ErrInvalidConfig", err)
	}
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: issuer, ClientID: "app", Sessions: s, HTTPClient: &http.Client{Transport: tr},
		PostLogoutRedirectURI: logoutURI,
		SignedOut:             http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "signed out page") }),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		if err := bl.Login(w, r, idToken(t, keys, issuer, "alice", "", time.Now().Add(-time.Second))); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	})
	mux.Handle("/signout", bl.SignOut())
	mux.Handle("/", bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.get(r, "login"); ok {
			io.WriteString(w, "signed in")
			return
		}
		io.WriteString(w, "anonymous")
	})))

	br := browser(t, true)
	br.Transport = tr
	resp, body := fetch(t, br, http.MethodGet, srv.URL+"/callback")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s %s", resp.Status, body)
	}
	u, _ := url.Parse(srv.URL)
	alice := br.Jar.Cookies(u)[0]
	if got, _ := fetch(t, &http.Client{}, http.MethodGet, srv.URL+"/", alice); got.StatusCode != http.StatusOK {
		t.Fatal("precondition: not signed in")
	}

	resp, body = fetch(t, br, http.MethodPost, srv.URL+"/signout")
	if resp.StatusCode != http.StatusOK || body != "signed out page" {
		t.Fatalf("sign out at Cognito: %s %q at %s", resp.Status, body, resp.Request.URL)
	}
	at := resp.Request.Response.Request.URL // the redirect to /logout
	if got := at.Scheme + "://" + at.Host + at.Path; got != logoutURL {
		t.Fatalf("went to %s, want %s", got, logoutURL)
	}
	if q := at.Query(); len(q) != 2 {
		t.Errorf("/logout parameters %v, want client_id and logout_uri only", q)
	}
	if _, body := fetch(t, &http.Client{}, http.MethodGet, srv.URL+"/", alice); body == "signed in" {
		t.Error("the session lives on after sign-out")
	}
}

// TestSignOutWithoutTheIDToken: bindings that cannot give the ID token
// back (an app's own store, or in-memory bindings a restart lost) still
// sign the user out, with client_id only.
func TestSignOutWithoutTheIDToken(t *testing.T) {
	mem, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, bclogout.Config{Bindings: storeOnly{mem}})
	alice := a.login(t, "alice", "sid-a")
	r := httptest.NewRequest(http.MethodPost, "/signout", nil)
	r.AddCookie(alice)
	w := httptest.NewRecorder()
	a.SignOut().ServeHTTP(w, r)
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || w.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if q := loc.Query(); q.Get("client_id") != "app" || q.Has("id_token_hint") {
		t.Errorf("end_session parameters %v, want client_id and no id_token_hint", q)
	}
	if got := a.page(t, alice); got != "anonymous" {
		t.Errorf("after sign-out: %q", got)
	}
}

// storeOnly hides every method of a Store but the interface's.
type storeOnly struct{ sessionadapter.Store }

// TestSignOutFailed: when the local step fails the user is still signed
// in, and Config.SignOutFailed answers.
func TestSignOutFailed(t *testing.T) {
	revs, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	failing := &flakyRevocations{Revocations: revs}
	a := newApp(t, bclogout.Config{
		Revocations: failing,
		SignOutFailed: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
		}),
	})
	alice := a.login(t, "alice", "sid-a")
	failing.down.Store(true)
	r := httptest.NewRequest(http.MethodPost, "/signout", nil)
	r.AddCookie(alice)
	w := httptest.NewRecorder()
	a.SignOut().ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || strings.TrimSpace(w.Body.String()) != "try again later" {
		t.Errorf("failed sign-out: %d %q, want Config.SignOutFailed's answer", w.Code, w.Body)
	}
}
