// Package valid holds the check of a binding that sessionadapter's stores
// and the adapters of the other modules under sessionadapter share, so
// that every store refuses the same bindings with the same sentinel.
package valid

import (
	"errors"
	"fmt"
)

// ErrInvalid is sessionadapter.ErrInvalid.
var ErrInvalid = errors.New("sessionadapter: invalid logout or binding")

// Login reports whether a login can be found by a logout: it names its
// issuer, and a sub or a sid.
func Login(issuer, subject, sessionID string) error {
	switch {
	case issuer == "":
		return fmt.Errorf("%w: no issuer", ErrInvalid)
	case subject == "" && sessionID == "":
		return fmt.Errorf("%w: neither sub nor sid", ErrInvalid)
	}
	return nil
}

// Binding reports whether a binding can be found by a logout: an issuer,
// a local ID, and a sub or sid.
func Binding(issuer, subject, sessionID, localID string) error {
	if issuer != "" && localID == "" {
		return fmt.Errorf("%w: no local session ID", ErrInvalid)
	}
	return Login(issuer, subject, sessionID)
}
