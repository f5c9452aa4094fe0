package fakeop

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

// OP is a fake OpenID Provider served over HTTP for one test. All its
// methods are safe for concurrent use.
type OP struct {
	op *opkit.OP
}

// Option configures an OP.
type Option func(*options)

type options struct {
	kit []opkit.Option
}

// WithAlg sets the algorithm of the OP's signing keys (default RS256):
// RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 or EdDSA.
func WithAlg(alg string) Option {
	return func(o *options) { o.kit = append(o.kit, opkit.WithAlg(alg)) }
}

// New starts an OP on an httptest server for the test t, stopped by
// t.Cleanup. It delivers logout tokens to RPs on loopback addresses (where
// httptest serves them) and to no other internal address. Failures,
// an invalid option included, are t.Fatal.
func New(t testing.TB, opts ...Option) *OP {
	t.Helper()
	var o options
	for _, opt := range opts {
		if opt == nil {
			o.kit = append(o.kit, nil) // opkit refuses it: ErrInvalidConfig
			continue
		}
		opt(&o)
	}
	return &OP{op: opkit.New(t, o.kit...)}
}

// Issuer returns the issuer URL, exactly as in tokens and discovery: the
// app under test discovers the OP from it.
func (op *OP) Issuer() string { return op.op.Issuer() }

// Client is a relying party registered with the OP.
type Client struct {
	ID string
	// Secret authenticates the client at the token endpoint; empty makes
	// a public client (PKCE only).
	Secret       string
	RedirectURIs []string
	// BackchannelLogoutURI receives logout tokens; empty means the client
	// is not told about logouts (and SignOut fails).
	BackchannelLogoutURI string
	// PostLogoutRedirectURIs are where the OP's end_session endpoint may
	// send the browser back to; a sign-out that asks for another is
	// refused (400), as real OPs refuse it.
	PostLogoutRedirectURIs []string
	// FrontchannelLogoutURI is rendered in an iframe, with iss and sid
	// appended, by the OP's end_session page for each session the client
	// took part in (Front-Channel Logout 1.0 §3).
	FrontchannelLogoutURI string
}

func (c Client) kit() opkit.Client {
	return opkit.Client{
		ID: c.ID, Secret: c.Secret, RedirectURIs: c.RedirectURIs,
		BackchannelLogoutURI: c.BackchannelLogoutURI, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		FrontchannelLogoutURI: c.FrontchannelLogoutURI,
	}
}

// StartApp serves the app under test for t: it calls newApp with the base
// URL the app will have (http://127.0.0.1:PORT, known before the app is
// built, so the app can derive its redirect_uri from it), serves the
// handler on an httptest server, and registers c with the OP, where every
// URI that is a path ("/callback") is taken relative to that base URL.
// The server is closed when t ends, and so is the handler if it is an
// io.Closer. Failures are t.Fatal.
func (op *OP) StartApp(t testing.TB, c Client, newApp func(baseURL string) (http.Handler, error)) *httptest.Server {
	t.Helper()
	return op.op.StartApp(t, c.kit(), newApp)
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
// signed in. Any failure is t.Fatal.
//
// A fresh browser is signed in each time: two calls for the same sub are
// two OP sessions, as two devices would be.
func (op *OP) SignIn(t testing.TB, loginURL, sub string) *http.Client {
	t.Helper()
	browser, err := op.op.Login(t.Context(), loginURL, sub)
	if err != nil {
		t.Fatal(err)
	}
	return browser
}

// SignOut ends, at the OP, the session of a browser that SignIn returned
// ("sign out everywhere"), sending every RP that took part in it a logout
// token (aud the client, sid, sub, a fresh jti; up to 3 attempts of 5 s
// each, only network errors and 5xx retried), while a request of that browser to the app is in flight: the app has
// loaded the browser's session before the logout and saves it after. When
// SignOut returns, every RP of the session has answered its logout token
// with 200 and the app has answered that request.
//
// The request in flight is a sign-in again through the app's login route
// (the one SignIn went through): single sign-on brings the browser back to
// the app's callback at once, and when the app redeems the code at the
// token endpoint, the OP ends the session and delivers the logout tokens
// before it answers; the code then fails (invalid_grant), as a code of an
// ended session does. A callback that modified the session (a popped
// state) saves it back after the logout, and a cookie session is never
// deleted at all: either way only the app's request-time guard keeps the
// user signed out, since deleting stored sessions at logout is not enough
// (Back-Channel Logout §2.7). So a test that checks the browser is signed
// out after SignOut proves the guard is wired, whatever the session store.
//
// It is t.Fatal when the browser has no live OP session, when the app's
// login route redeemed no code of that session, or when an RP of the
// session got no logout token (it registered no back-channel logout URI)
// or did not answer it with 200: a sign-out that told no one is a failure,
// not a pass. The message says what each RP answered.
func (op *OP) SignOut(t testing.TB, browser *http.Client) {
	t.Helper()
	if _, err := op.op.Logout(t.Context(), browser); err != nil {
		t.Fatal(err)
	}
}

// SignLogoutToken returns a valid logout token for audience, signed by the
// OP's current key, to POST to the app's back-channel logout endpoint
// without a browser; an empty sub or sid leaves that claim out.
func (op *OP) SignLogoutToken(audience, sub, sid string) (string, error) {
	return op.op.SignLogoutToken(audience, sub, sid)
}
