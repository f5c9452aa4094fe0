package echomw_test

import (
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

	mwtest.CheckRoutes(t, e, []mwtest.Route{
		{Name: "post", Method: http.MethodPost, Path: "/backchannel-logout", Want: 200, WantStub: true},
		{Name: "get", Method: http.MethodGet, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "head", Method: http.MethodHead, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "put", Method: http.MethodPut, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "options", Method: http.MethodOptions, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "unknown method", Method: "PURGE", Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "trailing slash", Method: http.MethodPost, Path: "/backchannel-logout/", Want: 404},
		{Name: "sub path", Method: http.MethodPost, Path: "/backchannel-logout/x", Want: 404},
		{Name: "longer name", Method: http.MethodPost, Path: "/backchannel-logoutx", Want: 404},
		{Name: "root", Method: http.MethodPost, Path: "/", Want: 404},
	})
}

func TestMountErrors(t *testing.T) {
	tests := []struct {
		name    string
		e       *echo.Echo
		path    string
		h       http.Handler
		wantErr error
	}{
		{name: "ok", e: echo.New(), path: mwtest.Path, h: mwtest.LogoutStub},
		{name: "nil Echo", path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "nil handler", e: echo.New(), path: mwtest.Path, wantErr: errs.ErrInvalidConfig},
		{name: "echo param", e: echo.New(), path: "/:id", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "echo wildcard", e: echo.New(), path: "/a/*", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "relative", e: echo.New(), path: "logout", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := echomw.Mount(tt.e, tt.path, tt.h); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Mount(%q) = %v, want %v", tt.path, err, tt.wantErr)
			}
		})
	}
}
