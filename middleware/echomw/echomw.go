package echomw

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/mount"
)

// Mount routes every request for path on e to h, whatever its method, so
// that h, not echo, answers a GET with its 405 and Cache-Control: no-store.
// Mount it on the Echo itself, outside the groups that carry session,
// CSRF or login middleware.
//
// path must be a plain absolute path: it begins with "/", does not end
// with "/", has no empty, "." or ".." segment, and holds only A-Z a-z 0-9
// - . _ ~ and /, so that no router reads a wildcard, a parameter or a
// method in it. Another path, or a nil Echo or handler, is an error
// wrapping bclogout.ErrInvalidConfig.
func Mount(e *echo.Echo, path string, h http.Handler) error {
	if e == nil {
		return errs.Config("echomw", "nil Echo")
	}
	return mount.With(func(path string, h http.Handler) {
		eh := echo.WrapHandler(h)
		e.Any(path, eh)
		// Any covers only echo's own list of methods; for any other method
		// on this path echo calls the path's not-found route in place of
		// its own 405, which hands those to h as well.
		e.RouteNotFound(path, eh)
	}, path, h)
}
