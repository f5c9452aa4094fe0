package chimw_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/chimw"
)

// logoutStub stands in for rp.Handler: it answers every method itself and
// marks its answers so tests can tell them from chi's own.
var logoutStub = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Logout-Stub", "1")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.WriteHeader(http.StatusOK)
})

// guardStub stands in for middleware.Guard: it marks every request it saw.
func guardStub(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Guard", "1")
		next.ServeHTTP(w, r)
	})
}

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	return serveReq(h, httptest.NewRequest(method, path, strings.NewReader("logout_token=x")))
}

func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestMountRoutesEveryMethodToHandler(t *testing.T) {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {})
	if err := chimw.Mount(r, middleware.DefaultPath, logoutStub); err != nil {
		t.Fatalf("Mount: %v", err)
	}

	tests := []struct {
		name     string
		method   string
		path     string
		want     int
		wantStub bool
	}{
		{name: "post", method: http.MethodPost, path: "/backchannel-logout", want: 200, wantStub: true},
		{name: "get", method: http.MethodGet, path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "head", method: http.MethodHead, path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "put", method: http.MethodPut, path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "patch", method: http.MethodPatch, path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "options", method: http.MethodOptions, path: "/backchannel-logout", want: 405, wantStub: true},
		// Documented limitation: chi refuses methods it does not know.
		{name: "unknown method answered by chi", method: "PURGE", path: "/backchannel-logout", want: 405},
		{name: "trailing slash", method: http.MethodPost, path: "/backchannel-logout/", want: 404},
		{name: "sub path", method: http.MethodPost, path: "/backchannel-logout/x", want: 404},
		{name: "longer name", method: http.MethodPost, path: "/backchannel-logoutx", want: 404},
		{name: "root", method: http.MethodPost, path: "/", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(r, tt.method, tt.path)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			if got := rec.Header().Get("X-Logout-Stub") != ""; got != tt.wantStub {
				t.Errorf("reached handler = %v, want %v", got, tt.wantStub)
			}
			if tt.wantStub && rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", rec.Header().Get("Cache-Control"))
			}
		})
	}
}

func TestGuardWithUse(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-App", "1") })
	tests := []struct {
		name  string
		setup func(r chi.Router) error
		path  string
		want  bool // guard saw the request
	}{
		{
			name: "use on root guards the logout route",
			setup: func(r chi.Router) error {
				r.Use(guardStub)
				return chimw.Mount(r, middleware.DefaultPath, logoutStub)
			},
			path: middleware.DefaultPath,
			want: true,
		},
		{
			name: "use in a group guards the app",
			setup: func(r chi.Router) error {
				r.Group(func(r chi.Router) {
					r.Use(guardStub)
					r.Handle("/app", app)
				})
				return chimw.Mount(r, middleware.DefaultPath, logoutStub)
			},
			path: "/app",
			want: true,
		},
		{
			name: "use in a group leaves the logout route alone",
			setup: func(r chi.Router) error {
				r.Group(func(r chi.Router) {
					r.Use(guardStub)
					r.Handle("/app", app)
				})
				return chimw.Mount(r, middleware.DefaultPath, logoutStub)
			},
			path: middleware.DefaultPath,
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := chi.NewRouter()
			if err := tt.setup(r); err != nil {
				t.Fatalf("setup: %v", err)
			}
			rec := serve(r, http.MethodPost, tt.path)
			if rec.Code != http.StatusOK {
				t.Errorf("status = %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("X-Guard") != ""; got != tt.want {
				t.Errorf("guard saw request = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMountErrors(t *testing.T) {
	var nilMux *chi.Mux
	tests := []struct {
		name    string
		r       chi.Router
		path    string
		h       http.Handler
		wantErr error
	}{
		{name: "ok", r: chi.NewRouter(), path: middleware.DefaultPath, h: logoutStub},
		{name: "nil router", path: middleware.DefaultPath, h: logoutStub, wantErr: middleware.ErrInvalidMount},
		{name: "typed nil router", r: nilMux, path: middleware.DefaultPath, h: logoutStub, wantErr: middleware.ErrInvalidMount},
		{name: "nil handler", r: chi.NewRouter(), path: middleware.DefaultPath, wantErr: middleware.ErrInvalidMount},
		{name: "chi param", r: chi.NewRouter(), path: "/{id}", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "chi wildcard", r: chi.NewRouter(), path: "/a/*", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "relative", r: chi.NewRouter(), path: "logout", h: logoutStub, wantErr: middleware.ErrInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := chimw.Mount(tt.r, tt.path, tt.h); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Mount(%q) = %v, want %v", tt.path, err, tt.wantErr)
			}
		})
	}
}
