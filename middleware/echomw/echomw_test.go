package echomw_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/echomw"
)

// logoutStub stands in for rp.Handler: it answers every method itself and
// marks its answers so tests can tell them from echo's own.
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

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	return serveReq(h, httptest.NewRequest(method, path, strings.NewReader("logout_token=x")))
}

func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestMountRoutesEveryMethodToHandler(t *testing.T) {
	e := echo.New()
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	if err := echomw.Mount(e, middleware.DefaultPath, logoutStub); err != nil {
		t.Fatalf("Mount on Echo: %v", err)
	}
	if err := echomw.Mount(e.Group("/tenant"), middleware.DefaultPath, logoutStub); err != nil {
		t.Fatalf("Mount on Group: %v", err)
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
		{name: "options", method: http.MethodOptions, path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "unknown method", method: "PURGE", path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "group post", method: http.MethodPost, path: "/tenant/backchannel-logout", want: 200, wantStub: true},
		{name: "group get", method: http.MethodGet, path: "/tenant/backchannel-logout", want: 405, wantStub: true},
		{name: "group unknown method", method: "PURGE", path: "/tenant/backchannel-logout", want: 405, wantStub: true},
		{name: "trailing slash", method: http.MethodPost, path: "/backchannel-logout/", want: 404},
		{name: "sub path", method: http.MethodPost, path: "/backchannel-logout/x", want: 404},
		{name: "longer name", method: http.MethodPost, path: "/backchannel-logoutx", want: 404},
		{name: "root", method: http.MethodPost, path: "/", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(e, tt.method, tt.path)
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

func TestMountErrors(t *testing.T) {
	var nilEcho *echo.Echo
	tests := []struct {
		name    string
		r       echomw.Router
		path    string
		h       http.Handler
		wantErr error
	}{
		{name: "ok", r: echo.New(), path: middleware.DefaultPath, h: logoutStub},
		{name: "nil router", path: middleware.DefaultPath, h: logoutStub, wantErr: middleware.ErrInvalidMount},
		{name: "typed nil router", r: nilEcho, path: middleware.DefaultPath, h: logoutStub, wantErr: middleware.ErrInvalidMount},
		{name: "nil handler", r: echo.New(), path: middleware.DefaultPath, wantErr: middleware.ErrInvalidMount},
		{name: "echo param", r: echo.New(), path: "/:id", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "echo wildcard", r: echo.New(), path: "/a/*", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "relative", r: echo.New(), path: "logout", h: logoutStub, wantErr: middleware.ErrInvalidPath},
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
			rec := serve(e, http.MethodGet, "/app")
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
