package chimw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/bclogout/bclogout/middleware/chimw"
	"github.com/bclogout/bclogout/middleware/internal/mwtest"
)

func ExampleMount() {
	logout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("the rp.Handler answers", r.Method)
	})
	guard := func(next http.Handler) http.Handler { return next } // middleware.Guard(...) in a real app

	r := chi.NewRouter()
	// The OP's request carries no session cookie: keep the guard (and any
	// CSRF check) on the app's routes, not on the logout route.
	r.Group(func(r chi.Router) {
		r.Use(guard)
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {})
	})
	if err := chimw.Mount(r, mwtest.Path, logout); err != nil {
		fmt.Println(err)
		return
	}

	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, mwtest.Path, nil))
	// Output: the rp.Handler answers GET
}
