package opkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// ErrSignIn means SignIn could not complete the authorization-code flow
// through the app: its login route did not lead to the OP, or the app's
// callback did not answer with success.
var ErrSignIn = errors.New("fakeop: sign-in through the app failed")

// StartApp serves the app under test for t: it calls newApp with the base
// URL the app will have (http://127.0.0.1:PORT, known before the app is
// built, so the app can derive its redirect_uri from it), serves the
// handler on an httptest server, and registers c with the OP, where every
// URI that is a path ("/callback") is taken relative to that base URL.
// The server is closed when t ends, and so is the handler if it is an
// io.Closer. Failures are t.Fatal.
func (op *OP) StartApp(t testing.TB, c Client, newApp func(baseURL string) (http.Handler, error)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	h, err := newApp(base)
	if err != nil {
		srv.Close()
		t.Fatalf("fakeop: build the app: %v", err)
	}
	if closer, ok := h.(io.Closer); ok {
		t.Cleanup(func() { _ = closer.Close() })
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	abs := func(u string) string {
		if strings.HasPrefix(u, "/") {
			return base + u
		}
		return u
	}
	c.RedirectURIs = mapURIs(c.RedirectURIs, abs)
	c.PostLogoutRedirectURIs = mapURIs(c.PostLogoutRedirectURIs, abs)
	c.BackchannelLogoutURI = abs(c.BackchannelLogoutURI)
	c.FrontchannelLogoutURI = abs(c.FrontchannelLogoutURI)
	if err := op.RegisterClient(c); err != nil {
		t.Fatalf("fakeop: register the app: %v", err)
	}
	return srv
}

func mapURIs(uris []string, f func(string) string) []string {
	out := make([]string, len(uris))
	for i, u := range uris {
		out[i] = f(u)
	}
	return out
}

// SignIn logs a browser in to an app as sub, the way a user would, and
// returns that browser: an *http.Client whose cookie jar holds the app's
// session cookie (and the OP's, for SignOut). It GETs loginURL, the app's
// own login route, which must redirect to this OP's authorization
// endpoint with the openid scope; submits the OP's login form as sub; and
// follows the redirect back to the app's callback, where the app redeems
// the code and starts its session. The app's final answer (after its
// redirects) must be a 2xx, the app must have redeemed the code at the
// OP's token endpoint, and the browser must hold a cookie of the app: an
// app whose callback fails and redirects to a public page does not pass as
// signed in.
// Any failure is t.Fatal, with an error wrapping ErrSignIn.
//
// A fresh browser is signed in each time: two calls for the same sub are
// two OP sessions, as two devices would be.
func (op *OP) SignIn(t testing.TB, loginURL, sub string) *http.Client {
	t.Helper()
	browser, err := op.Login(t.Context(), loginURL, sub)
	if err != nil {
		t.Fatal(err)
	}
	return browser
}

// Login is SignIn returning its error.
func (op *OP) Login(ctx context.Context, loginURL, sub string) (*http.Client, error) {
	if sub == "" {
		return nil, fmt.Errorf("%w: empty sub", ErrSignIn)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	browser := &http.Client{Jar: jar}

	resp, err := get(ctx, browser, loginURL)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrSignIn, loginURL, err)
	}
	page := resp.Request.URL
	drain(resp)
	authorize := op.issuer + "/authorize"
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(page.String(), authorize+"?") {
		return nil, fmt.Errorf("%w: %s led to %s (%s), not to the login page at %s", ErrSignIn, loginURL, page, resp.Status, authorize)
	}

	// The login form carries the authorization request's parameters in
	// hidden fields (see the login page): post them back with the user.
	form := page.Query()
	form.Set("username", sub)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, authorize, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = browser.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: login form and callback: %w", ErrSignIn, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%w: %s answered %s: %s", ErrSignIn, resp.Request.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	// A 2xx alone proves nothing: a callback that fails and redirects to
	// a public page answers 200 too. The app signed the user in only if it
	// redeemed the code (the OP session then counts the client among its
	// RPs, so SignOut will log it out) and left a cookie in the browser.
	clientID := form.Get("client_id")
	if !op.browserJoined(browser, clientID) {
		return nil, fmt.Errorf("%w: the app (client %q) did not redeem the authorization code at the token endpoint", ErrSignIn, clientID)
	}
	if app, err := url.Parse(loginURL); err != nil || len(browser.Jar.Cookies(app)) == 0 {
		return nil, fmt.Errorf("%w: the app set no cookie in the browser for %s", ErrSignIn, loginURL)
	}
	op.mu.Lock()
	op.logins[browser] = loginURL
	op.mu.Unlock()
	return browser, nil
}

// browserJoined reports whether the browser's OP session has issued an ID
// token to clientID, that is, the client redeemed a code of that session.
func (op *OP) browserJoined(browser *http.Client, clientID string) bool {
	sid, ok := op.browserSID(browser)
	if !ok {
		return false
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	s, ok := op.sessions[sid]
	return ok && slices.Contains(s.clients, clientID)
}

// SignOut ends, at the OP, the session of a browser that SignIn returned
// ("sign out everywhere"), with the back-channel fan-out of EndSession,
// while a request of that browser to the app is in flight: the app has
// loaded the browser's session and saves it after the logout. When SignOut
// returns, every RP of the session has answered its logout token with 200
// and the app has answered that request.
//
// The request in flight is a sign-in again through the app's login route
// (the one SignIn went through): single sign-on brings the browser back to
// the app's callback at once, and when the app redeems the code at the
// token endpoint, after loading the browser's session, the OP ends the
// session and delivers the logout tokens before it answers; the code then
// fails (invalid_grant), as a code of an ended session does. An app whose
// callback writes the session it loaded back after the logout (scs saves a
// session the callback modified, a cookie session needs no save at all)
// keeps the user signed in unless its request-time guard ends the session:
// deleting stored sessions at logout is not enough (Back-Channel Logout
// §2.7: a logged-out session must stay logged out). So a test that checks
// the browser is signed out after SignOut proves the guard is wired.
//
// It is t.Fatal when the browser has no live OP session
// (ErrUnknownSession), when the app's login route redeemed no code of that
// session (ErrSignIn), or when an RP of the session got no logout token (it
// registered no back-channel logout URI) or did not answer it with 200
// (ErrDeliveryFailed): a sign-out that told no one is a failure, not a
// pass. The Report says what each RP answered.
func (op *OP) SignOut(t testing.TB, browser *http.Client) Report {
	t.Helper()
	rep, err := op.Logout(t.Context(), browser)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// heldLogout is a SignOut waiting for the app to redeem a code of its
// session; the token endpoint runs it (see handleToken).
type heldLogout struct {
	ctx  context.Context
	done chan struct{} // closed once rep and err are set
	rep  Report
	err  error
}

// Logout is SignOut returning its error. A browser that SignIn did not
// return (it has no login route on record) has its OP session ended
// without a request in flight.
func (op *OP) Logout(ctx context.Context, browser *http.Client) (Report, error) {
	sid, ok := op.browserSID(browser)
	if !ok {
		return Report{}, fmt.Errorf("%w: the browser has no OP session", ErrUnknownSession)
	}
	op.mu.Lock()
	var rps []string
	if s, ok := op.sessions[sid]; ok {
		rps = slices.Clone(s.clients)
	}
	loginURL, relogin := op.logins[browser]
	h := &heldLogout{ctx: ctx, done: make(chan struct{})}
	if relogin {
		op.held[sid] = h
	}
	op.mu.Unlock()

	var rep Report
	var err error
	if relogin {
		rep, err = op.logoutInFlight(ctx, browser, loginURL, sid, h)
	} else {
		rep, err = op.EndSession(ctx, sid)
	}
	if err != nil {
		return rep, err
	}
	// EndSession sends a token only to RPs with a back-channel logout URI:
	// a test that signs out must fail when one of the session's RPs was
	// never told, or answered anything but the 200 the spec requires.
	var errs []error
	for _, id := range rps {
		i := slices.IndexFunc(rep.Deliveries, func(d Delivery) bool { return d.ClientID == id && d.SID == sid })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("client %q got no logout token (no back-channel logout URI registered)", id))
		case rep.Deliveries[i].Status != http.StatusOK:
			errs = append(errs, fmt.Errorf("client %q answered its logout token with %d, not 200", id, rep.Deliveries[i].Status))
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("%w: %w", ErrDeliveryFailed, errors.Join(errs...))
	}
	return rep, nil
}

// logoutInFlight signs the browser in again through loginURL; the token
// endpoint ends sid when the app redeems the code (h), and the app's
// answer, whatever it is, comes after the logout.
func (op *OP) logoutInFlight(ctx context.Context, browser *http.Client, loginURL, sid string, h *heldLogout) (Report, error) {
	resp, getErr := get(ctx, browser, loginURL)
	if getErr == nil {
		drain(resp) // the app's callback fails: its code's session ended
	}
	op.mu.Lock()
	pending := op.held[sid] == h
	if pending {
		delete(op.held, sid)
	}
	op.mu.Unlock()
	if pending {
		if getErr != nil {
			return Report{}, fmt.Errorf("%w: sign in again through %s to hold a request in flight: %w", ErrSignIn, loginURL, getErr)
		}
		return Report{}, fmt.Errorf("%w: SignOut signs in again through %s, to end the OP session while the app's callback is in flight, but the app redeemed no code of that session", ErrSignIn, loginURL)
	}
	select {
	case <-h.done: // the token endpoint ran the logout
	case <-ctx.Done():
		return Report{}, ctx.Err()
	}
	return h.rep, h.err
}

// BrowserSession returns the sid of a browser's OP session (one that
// SignIn returned), or false when it has none.
func (op *OP) BrowserSession(browser *http.Client) (sid string, ok bool) {
	return op.browserSID(browser)
}

func (op *OP) browserSID(browser *http.Client) (string, bool) {
	if browser == nil || browser.Jar == nil {
		return "", false
	}
	u, err := url.Parse(op.issuer + "/")
	if err != nil {
		return "", false
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, c := range browser.Jar.Cookies(u) {
		if c.Name != cookieName {
			continue
		}
		if sid, ok := op.browsers[c.Value]; ok {
			if _, live := op.sessions[sid]; live {
				return sid, true
			}
		}
	}
	return "", false
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
