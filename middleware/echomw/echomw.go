package echomw

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/mount"
)

// Router is where Mount adds the route: an *echo.Echo or an *echo.Group.
type Router interface {
	Any(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) []*echo.Route
	RouteNotFound(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

var (
	_ Router = (*echo.Echo)(nil)
	_ Router = (*echo.Group)(nil)
)

// Mount routes every request for path on r (relative to the group's prefix
// when r is a Group) to h, whatever its method, so that h, not echo, answers
// a GET with its 405 and Cache-Control: no-store.
//
// A path middleware.Mount would refuse or a nil router or handler is an
// error wrapping bclogout.ErrInvalidConfig.
func Mount(r Router, path string, h http.Handler) error {
	if r == nil {
		return errs.Config("echomw", "nil router")
	}
	// A typed nil Router gets past the check above and panics in echo;
	// mount.With turns that into an error.
	return mount.With(func(path string, h http.Handler) {
		eh := echo.WrapHandler(h)
		r.Any(path, eh)
		// Any covers only echo's own list of methods; for any other method
		// on this path echo calls the path's not-found route in place of
		// its own 405, which hands those to h as well.
		r.RouteNotFound(path, eh)
	}, path, h)
}

// Guard adapts a net/http middleware, such as the session guard of package
// middleware, to echo: e.Use(echomw.Guard(guard)). A request the guard
// changes (its context, say) is the one later handlers see in c.Request().
//
// A nil mw fails closed: every request it would guard is answered with 500.
func Guard(mw func(http.Handler) http.Handler) echo.MiddlewareFunc {
	if mw == nil {
		err := errs.Config("echomw", "nil guard")
		return func(echo.HandlerFunc) echo.HandlerFunc {
			return func(echo.Context) error {
				return echo.NewHTTPError(http.StatusInternalServerError).SetInternal(err)
			}
		}
	}
	return echo.WrapMiddleware(mw)
}
