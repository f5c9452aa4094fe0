package chimw

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bclogout/bclogout/middleware"
)

// Mount routes every request for path on r to h, whatever its method, so
// that h, not chi, answers a GET with its 405 and Cache-Control: no-store.
// The exception is a method chi does not know (not one of the nine of RFC
// 9110 nor PATCH): chi answers it with its own 405 before routing, unless
// the program registered it with chi.RegisterMethod.
//
// Errors wrap middleware.ErrInvalidPath for a path middleware.CheckPath
// rejects and middleware.ErrInvalidMount for a nil router or handler or a
// route chi refuses.
func Mount(r chi.Router, path string, h http.Handler) error {
	if r == nil {
		return fmt.Errorf("%w: nil router", middleware.ErrInvalidMount)
	}
	// chi reports a route it cannot add only by panicking, which
	// MountWith turns into an error.
	return middleware.MountWith(r.Handle, path, h)
}
