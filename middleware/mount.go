package middleware

import (
	"net/http"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/mount"
)

// Mount routes every request for path on mux to h, whatever its method.
//
// The pattern is registered without a method on purpose: the logout handler
// answers non-POST methods itself (405 with Allow and Cache-Control:
// no-store), whereas a "POST /path" pattern would let the mux answer a GET
// with its own 405 that lacks no-store.
//
// path must begin with "/", must not end with "/" (ServeMux would route the
// whole subtree to the handler), must have no empty, "." or ".." segment
// (ServeMux would answer the OP's POST with a redirect), and may only hold
// the characters A-Z a-z 0-9 - . _ ~ and /, so that no router reads a
// wildcard, a parameter or a method in it. A path that breaks these rules, a
// nil mux or handler, or a pattern the mux refuses because it conflicts with
// one already registered (where ServeMux itself would panic) is an error
// wrapping bclogout.ErrInvalidConfig.
func Mount(mux *http.ServeMux, path string, h http.Handler) error {
	if mux == nil {
		return errs.Config("middleware", "nil mux")
	}
	return mount.With(mux.Handle, path, h)
}
