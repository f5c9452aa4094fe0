package echomw_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/middleware/echomw"
	"github.com/bclogout/bclogout/middleware/internal/mwtest"
)

func TestMountRoutesEveryMethodToHandler(t *testing.T) {
	e := echo.New()
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	if err := echomw.Mount(e, mwtest.Path, mwtest.LogoutStub); err != nil {
		t.Fatalf("Mount on Echo: %v", err)
	}
	if err := echomw.Mount(e.Group("/tenant"), mwtest.Path, mwtest.LogoutStub); err != nil {
		t.Fatalf("Mount on Group: %v", err)
	}

	mwtest.CheckRoutes(t, e, []mwtest.Route{
		{Name: "post", Method: http.MethodPost, Path: "/backchannel-logout", Want: 200, WantStub: true},
		{Name: "get", Method: http.MethodGet, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "head", Method: http.MethodHead, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "put", Method: http.MethodPut, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "options", Method: http.MethodOptions, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "unknown method", Method: "PURGE", Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "group post", Method: http.MethodPost, Path: "/tenant/backchannel-logout", Want: 200, WantStub: true},
		{Name: "group get", Method: http.MethodGet, Path: "/tenant/backchannel-logout", Want: 405, WantStub: true},
		{Name: "group unknown method", Method: "PURGE", Path: "/tenant/backchannel-logout", Want: 405, WantStub: true},
		{Name: "trailing slash", Method: http.MethodPost, Path: "/backchannel-logout/", Want: 404},
		{Name: "sub path", Method: http.MethodPost, Path: "/backchannel-logout/x", Want: 404},
		{Name: "longer name", Method: http.MethodPost, Path: "/backchannel-logoutx", Want: 404},
		{Name: "root", Method: http.MethodPost, Path: "/", Want: 404},
	})
}

func TestMountErrors(t *testing.T) {
	var nilEcho *echo.Echo
	tests := []struct {
		name    string
		r       echomw.Router
		path    string
		h       http.Handler
		wantErr error
	}{
		{name: "ok", r: echo.New(), path: mwtest.Path, h: mwtest.LogoutStub},
		{name: "nil router", path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "typed nil router", r: nilEcho, path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "nil handler", r: echo.New(), path: mwtest.Path, wantErr: errs.ErrInvalidConfig},
		{name: "echo param", r: echo.New(), path: "/:id", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "echo wildcard", r: echo.New(), path: "/a/*", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "relative", r: echo.New(), path: "logout", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := echomw.Mount(tt.r, tt.path, tt.h); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Mount(%q) = %v, want %v", tt.path, err, tt.wantErr)
			}
		})
	}
}

type ctxKey struct{}

func TestGuard(t *testing.T) {
	tests := []struct {
		name        string
		guard       func(http.Handler) http.Handler
		want        int
		wantHandler bool
		wantValue   string
	}{
		{
			name: "passes the changed request on",
			guard: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "guarded")))
				})
			},
			want: http.StatusOK, wantHandler: true, wantValue: "guarded",
		},
		{
			name: "ends the request",
			guard: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "/login", http.StatusSeeOther)
				})
			},
			want: http.StatusSeeOther,
		},
		{name: "nil guard fails closed", want: http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reached bool
			var value string
			e := echo.New()
			e.Use(echomw.Guard(tt.guard))
			e.GET("/app", func(c echo.Context) error {
				reached = true
				value, _ = c.Request().Context().Value(ctxKey{}).(string)
				return c.NoContent(http.StatusOK)
			})
			rec := mwtest.Serve(e, http.MethodGet, "/app")
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			if reached != tt.wantHandler {
				t.Errorf("handler reached = %v, want %v", reached, tt.wantHandler)
			}
			if value != tt.wantValue {
				t.Errorf("context value = %q, want %q", value, tt.wantValue)
			}
		})
	}
}
