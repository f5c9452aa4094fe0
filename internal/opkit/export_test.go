package opkit

// The error-returning cores of SignIn and SignOut, for their error tests.
var (
	SignInErr  = (*OP).Login
	SignOutErr = (*OP).Logout
)
