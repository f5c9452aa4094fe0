package ginmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/bclogout/bclogout/middleware/ginmw"
)

func ExampleGuard() {
	signOut := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("the sign-out route answers", r.Method)
	})
	guard := func(next http.Handler) http.Handler { // bclogout.RP's Guard in a real app
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Println("the guard passes", r.URL.Path)
			next.ServeHTTP(w, r)
		})
	}

	r := gin.New()
	// Before the routes: gin gives a route the middleware registered
	// before it. The library's route is mounted on every method so that
	// it, not gin, answers a method it refuses. (The server serves
	// bclogout.RP's Endpoints(r), which answers the OP's requests ahead of
	// the engine.)
	r.Use(ginmw.Guard(guard))
	r.GET("/", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.Any("/signout", gin.WrapH(signOut))

	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodDelete, "/signout", nil))
	// Output:
	// the guard passes /signout
	// the sign-out route answers DELETE
}
