// Package fakeop is a fake OpenID Provider for the tests of a relying party
// that implements OpenID Connect Back-Channel Logout 1.0
// (https://openid.net/specs/openid-connect-backchannel-1_0.html).
//
// It runs a small OP on an httptest server: discovery, a JWKS, an
// authorization-code login with single sign-on, and the back-channel
// fan-out of §2.5 to every RP that took part in an OP session.
//
// An app's "logout works" test needs three calls: OP.StartApp serves the
// app on an httptest server and registers it as a client; OP.SignIn drives
// a browser through the app's own login route and the OP's login form, and
// returns it as an *http.Client holding the app's cookies; OP.SignOut ends
// that browser's OP session while a request of the browser to the app is
// in flight, and returns once every RP has answered its logout token. The
// next request of the browser must find the user signed out, which an app
// only manages with its request-time guard (see OP.SignOut).
//
// Lower level: OP.SignLogoutToken mints a logout token to POST to the
// app's endpoint yourself.
//
// Nothing in this package is meant for production: keys live in memory and
// every test gets its own OP.
package fakeop
