package chimw

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/mount"
)

// Mount routes every request for path on r to h, whatever its method, so
// that h, not chi, answers a GET with its 405 and Cache-Control: no-store.
// The exception is a method chi does not know (not one of the nine of RFC
// 9110 nor PATCH): chi answers it with its own 405 before routing, unless
// the program registered it with chi.RegisterMethod.
//
// path must be a plain absolute path: it begins with "/", does not end
// with "/", has no empty, "." or ".." segment, and holds only A-Z a-z 0-9
// - . _ ~ and /, so that no router reads a wildcard, a parameter or a
// method in it. Another path, a nil router or handler, or a route chi
// refuses is an error wrapping bclogout.ErrInvalidConfig.
func Mount(r chi.Router, path string, h http.Handler) error {
	if r == nil {
		return errs.Config("chimw", "nil router")
	}
	// chi reports a route it cannot add only by panicking, which
	// mount.With turns into an error.
	return mount.With(r.Handle, path, h)
}
