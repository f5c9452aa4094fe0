package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// DefaultPath is the conventional path of an RP's backchannel_logout_uri.
const DefaultPath = "/backchannel-logout"

// Errors Mount and the router adapters report.
var (
	// ErrInvalidPath means the path cannot be an exact, literal route on
	// every router we support (see CheckPath).
	ErrInvalidPath = errors.New("middleware: invalid logout path")
	// ErrInvalidMount means the router or the handler is missing, or the
	// router refused the route (a conflicting pattern is already there).
	ErrInvalidMount = errors.New("middleware: cannot mount logout handler")
)

// CheckPath reports whether path can serve as the path of a
// backchannel_logout_uri on net/http, chi and echo alike: it must begin with
// "/", must not end with "/" (ServeMux would route the whole subtree to the
// handler), must have no empty, "." or ".." segment (ServeMux would answer
// the OP's POST with a redirect), and may only hold the characters
// A-Z a-z 0-9 - . _ ~ and /, so that no router reads a wildcard, a parameter
// or a method in it. Such a path needs no escaping in a URL either.
func CheckPath(path string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%w: %q does not begin with /", ErrInvalidPath, path)
	}
	if strings.HasSuffix(path, "/") {
		return fmt.Errorf("%w: %q ends with /", ErrInvalidPath, path)
	}
	for i := 0; i < len(path); i++ {
		if !pathByte(path[i]) {
			return fmt.Errorf("%w: %q holds %q", ErrInvalidPath, path, path[i])
		}
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q has an empty, . or .. segment", ErrInvalidPath, path)
		}
	}
	return nil
}

func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~/", c) >= 0
}

// Mount routes every request for path on mux to h, whatever its method.
//
// The pattern is registered without a method on purpose: the logout handler
// answers non-POST methods itself (405 with Allow and Cache-Control:
// no-store), whereas a "POST /path" pattern would let the mux answer a GET
// with its own 405 that lacks no-store.
//
// Mount returns an error wrapping ErrInvalidPath for a path CheckPath
// rejects, and one wrapping ErrInvalidMount for a nil mux or handler or when
// the mux refuses the pattern because it conflicts with one already
// registered (where ServeMux itself would panic).
func Mount(mux *http.ServeMux, path string, h http.Handler) error {
	if mux == nil {
		return fmt.Errorf("%w: nil mux", ErrInvalidMount)
	}
	return MountWith(mux.Handle, path, h)
}

// MountWith mounts h on any router: add is the router's own way of
// routing every request for path to h, whatever its method. MountWith
// makes Mount's checks first (CheckPath, a nil add or handler) and turns a
// panic in add, which is how most routers refuse a route that conflicts
// with one already there, into an error wrapping ErrInvalidMount. The
// chimw and echomw adapters are built on it; for another router:
//
//	err := middleware.MountWith(func(p string, h http.Handler) { router.Handle(p, h) }, path, h)
func MountWith(add func(path string, h http.Handler), path string, h http.Handler) (err error) {
	if add == nil || h == nil {
		return fmt.Errorf("%w: nil router or handler", ErrInvalidMount)
	}
	if err := CheckPath(path); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrInvalidMount, p)
		}
	}()
	add(path, h)
	return nil
}
