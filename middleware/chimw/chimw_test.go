package chimw_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/middleware/chimw"
	"github.com/bclogout/bclogout/middleware/internal/mwtest"
)

// guardStub stands in for middleware.Guard: it marks every request it saw.
func guardStub(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Guard", "1")
		next.ServeHTTP(w, r)
	})
}

func TestMountRoutesEveryMethodToHandler(t *testing.T) {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {})
	if err := chimw.Mount(r, mwtest.Path, mwtest.LogoutStub); err != nil {
		t.Fatalf("Mount: %v", err)
	}

	mwtest.CheckRoutes(t, r, []mwtest.Route{
		{Name: "post", Method: http.MethodPost, Path: "/backchannel-logout", Want: 200, WantStub: true},
		{Name: "get", Method: http.MethodGet, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "head", Method: http.MethodHead, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "put", Method: http.MethodPut, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "patch", Method: http.MethodPatch, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "options", Method: http.MethodOptions, Path: "/backchannel-logout", Want: 405, WantStub: true},
		// Documented limitation: chi refuses methods it does not know.
		{Name: "unknown method answered by chi", Method: "PURGE", Path: "/backchannel-logout", Want: 405},
		{Name: "trailing slash", Method: http.MethodPost, Path: "/backchannel-logout/", Want: 404},
		{Name: "sub path", Method: http.MethodPost, Path: "/backchannel-logout/x", Want: 404},
		{Name: "longer name", Method: http.MethodPost, Path: "/backchannel-logoutx", Want: 404},
		{Name: "root", Method: http.MethodPost, Path: "/", Want: 404},
	})
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
				return chimw.Mount(r, mwtest.Path, mwtest.LogoutStub)
			},
			path: mwtest.Path,
			want: true,
		},
		{
			name: "use in a group guards the app",
			setup: func(r chi.Router) error {
				r.Group(func(r chi.Router) {
					r.Use(guardStub)
					r.Handle("/app", app)
				})
				return chimw.Mount(r, mwtest.Path, mwtest.LogoutStub)
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
				return chimw.Mount(r, mwtest.Path, mwtest.LogoutStub)
			},
			path: mwtest.Path,
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := chi.NewRouter()
			if err := tt.setup(r); err != nil {
				t.Fatalf("setup: %v", err)
			}
			rec := mwtest.Serve(r, http.MethodPost, tt.path)
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
		{name: "ok", r: chi.NewRouter(), path: mwtest.Path, h: mwtest.LogoutStub},
		{name: "nil router", path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "typed nil router", r: nilMux, path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "nil handler", r: chi.NewRouter(), path: mwtest.Path, wantErr: errs.ErrInvalidConfig},
		{name: "chi param", r: chi.NewRouter(), path: "/{id}", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "chi wildcard", r: chi.NewRouter(), path: "/a/*", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "relative", r: chi.NewRouter(), path: "logout", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := chimw.Mount(tt.r, tt.path, tt.h); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Mount(%q) = %v, want %v", tt.path, err, tt.wantErr)
			}
		})
	}
}
