package echomw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout/middleware/echomw"
	"github.com/bclogout/bclogout/middleware/internal/mwtest"
)

func ExampleMount() {
	logout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("the rp.Handler answers", r.Method)
	})
	guard := func(next http.Handler) http.Handler { return next } // middleware.Guard(...) in a real app

	e := echo.New()
	// The OP's request carries no session cookie: keep the guard (and any
	// CSRF check) on the app's routes, not on the logout route.
	app := e.Group("", echo.WrapMiddleware(guard))
	app.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	if err := echomw.Mount(e, mwtest.Path, logout); err != nil {
		fmt.Println(err)
		return
	}

	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, mwtest.Path, nil))
	// Output: the rp.Handler answers GET
}
