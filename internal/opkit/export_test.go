package opkit

import "net/http"

// The error-returning cores of SignIn and SignOut, for their error tests.
var (
	SignInErr  = (*OP).Login
	SignOutErr = (*OP).Logout
)

// SetLogin changes the login route SignOut goes through for browser.
func SetLogin(op *OP, browser *http.Client, loginURL string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.logins[browser] = loginURL
}
