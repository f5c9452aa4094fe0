package ginmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/bclogout/bclogout/middleware/ginmw"
)

func ExampleGuard() {
	logout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("the endpoint answers", r.Method)
	})
	guard := func(next http.Handler) http.Handler { return next } // bclogout.RP's Guard in a real app

	r := gin.New()
	// Before the routes: gin gives a route the middleware registered
	// before it. The OP's request carries no session cookie, so the guard
	// passes it on; the logout route is mounted on every method so that it
	// answers a GET itself.
	r.Use(ginmw.Guard(guard))
	r.GET("/", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.Any("/backchannel-logout", gin.WrapH(logout))

	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/backchannel-logout", nil))
	// Output: the endpoint answers GET
}
