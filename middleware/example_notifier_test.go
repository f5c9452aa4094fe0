package middleware_test

import (
	"net/http"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
)

// An app guards its pages and lets them listen for their logout:
//
//	const es = new EventSource("/logout-events");
//	es.addEventListener("logout", () => { es.close(); showSignedOut(); });
func ExampleNewNotifier() {
	rev, _ := sessionadapter.NewMemoryRevocations() // or redisadapter.NewRevocations(rdb)
	lookup := func(r *http.Request) (sessionadapter.Binding, bool) {
		return sessionadapter.Binding{}, false // gorillaadapter.New(store, "app").Lookup, scsadapter.New(sm).Lookup...
	}
	guard, _ := middleware.Guard(rev, lookup)
	notifier, _ := middleware.NewNotifier(rev, lookup)
	defer notifier.Close() // before http.Server.Shutdown: it waits for open streams

	mux := http.NewServeMux()
	mux.Handle("GET /logout-events", notifier)
	mux.Handle("/", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { /* the app */ })))
	_ = mux
}
