// Package mount checks and mounts the endpoints' paths that the front
// door's Config and the command's flags give, so that a path the user gives
// is refused at start-up rather than read by the router as a wildcard, a
// parameter or a method.
package mount

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bclogout/bclogout/internal/errs"
)

// CheckPath reports whether path, which its error calls name, can serve as
// the path of an endpoint the OP calls, both where bclogout.RP's Endpoints
// compares it with the request's path as written and where a router
// mounts it (the receive command's ServeMux; net/http, chi and echo
// alike): it must begin with "/", must not end with "/" (ServeMux would
// route the whole subtree to the handler), must have no empty, "." or ".."
// segment (ServeMux would answer the OP's POST with a redirect, and a
// browser removes dot segments before it asks), and may only hold the
// characters A-Z a-z 0-9 - . _ ~ and /, so that no router reads a
// wildcard, a parameter or a method in it, nor does anyone who writes a
// router's pattern out of habit get a door no request reaches. Such a path
// needs no escaping in a URL either.
func CheckPath(name, path string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%s %q does not begin with /", name, path)
	}
	if strings.HasSuffix(path, "/") {
		return fmt.Errorf("%s %q ends with /", name, path)
	}
	for i := 0; i < len(path); i++ {
		if !pathByte(path[i]) {
			return fmt.Errorf("%s %q holds %q", name, path, path[i])
		}
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%s %q has an empty, . or .. segment", name, path)
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

// With mounts h on any router: add is the router's own way of
// routing every request for path to h, whatever its method. With
// makes the checks first (CheckPath, a nil add or handler) and turns a
// panic in add, which is how most routers refuse a route that conflicts
// with one already there, into an invalid-configuration error.
func With(add func(path string, h http.Handler), path string, h http.Handler) (err error) {
	if add == nil || h == nil {
		return errs.Config("middleware", "nil router or handler")
	}
	if err := CheckPath("path", path); err != nil {
		return errs.Config("middleware", "%v", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = errs.Config("middleware", "the router refused the logout path: %v", p)
		}
	}()
	add(path, h)
	return nil
}
