package ginmw

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bclogout/bclogout/internal/errs"
)

// Guard adapts a net/http middleware, such as bclogout.RP's Guard, to gin:
// r.Use(ginmw.Guard(logout.Guard)), before the routes and the groups it
// guards (gin gives a route the middleware registered before it, and a
// group copies its parent's middleware when r.Group makes it: a group made
// before this Use stays unguarded, whatever routes it gets later). When mw
// passes the request on, the rest of the gin chain runs with the request
// mw passed (its changed context, say) as c.Request; when mw answers the
// request itself (a 503 when the revocations cannot be read), the chain is
// aborted, so no later handler runs.
//
// The rest of the chain writes to c.Writer, not to a writer mw passes on:
// Guard suits a middleware that wraps the request, not the response, as
// the session guard does.
//
// bclogout.RP's Endpoints is no middleware for Guard: it wraps the
// engine, and the server serves what it returns, so that no gin
// middleware runs before the OP's requests are answered.
//
// A nil mw fails closed: every request it would guard is aborted with 500.
func Guard(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	if mw == nil {
		err := errs.Config("ginmw", "nil guard")
		return func(c *gin.Context) { _ = c.AbortWithError(http.StatusInternalServerError, err) }
	}
	return func(c *gin.Context) {
		passed := false
		// mw wraps a next of this request's own, as echo.WrapMiddleware
		// does: that is how next reaches c.
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			// An outer gin handler sees its own request again when Next
			// returns, as an outer net/http middleware keeps its r.
			defer func(orig *http.Request) { c.Request = orig }(c.Request)
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}
