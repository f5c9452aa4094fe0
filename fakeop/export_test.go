package fakeop

// The error-returning cores of SignIn and SignOut, for their error tests.
var (
	SignInErr  = (*OP).signIn
	SignOutErr = (*OP).signOut
)
