package mwtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// LogoutStub stands in for rp.Handler: it answers every method itself, as
// the real one does, and marks its answers so tests can tell them from the
// router's own.
var LogoutStub http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Logout-Stub", "1")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.WriteHeader(http.StatusOK)
})

// Serve sends h a request with a logout_token body and records the answer.
func Serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("logout_token=x")))
	return rec
}

// Route is one request of a routing table and what must answer it.
type Route struct {
	Name     string
	Method   string
	Path     string
	Want     int
	WantStub bool // LogoutStub answered, not the router
}

// CheckRoutes serves each route on h and checks its status, whether
// LogoutStub answered it, and that the stub's answers keep no-store.
func CheckRoutes(t *testing.T, h http.Handler, routes []Route) {
	t.Helper()
	for _, tt := range routes {
		t.Run(tt.Name, func(t *testing.T) {
			rec := Serve(h, tt.Method, tt.Path)
			if rec.Code != tt.Want {
				t.Errorf("status = %d, want %d", rec.Code, tt.Want)
			}
			if got := rec.Header().Get("X-Logout-Stub") != ""; got != tt.WantStub {
				t.Errorf("reached handler = %v, want %v", got, tt.WantStub)
			}
			if tt.WantStub && rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", rec.Header().Get("Cache-Control"))
			}
		})
	}
}

// Path is the conventional path of an RP's backchannel_logout_uri.
const Path = "/backchannel-logout"
