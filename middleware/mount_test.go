package middleware_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/middleware"
)

// logoutStub stands in for rp.Handler: it answers every method itself, as
// the real one does, and marks its answers so tests can tell them from the
// router's own.
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

func TestMountRoutesEveryMethodToHandler(t *testing.T) {
	mux := http.NewServeMux()
	// Method patterns elsewhere on the mux must not take the logout path.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {})
	if err := middleware.Mount(mux, middleware.DefaultPath, logoutStub); err != nil {
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
		{name: "delete", method: http.MethodDelete, path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "options", method: http.MethodOptions, path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "unknown method", method: "PURGE", path: "/backchannel-logout", want: 405, wantStub: true},
		{name: "trailing slash", method: http.MethodPost, path: "/backchannel-logout/", want: 404},
		{name: "sub path", method: http.MethodPost, path: "/backchannel-logout/x", want: 404},
		{name: "longer name", method: http.MethodPost, path: "/backchannel-logoutx", want: 404},
		{name: "root", method: http.MethodPost, path: "/", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader("logout_token=x")))
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
	tests := []struct {
		name    string
		mux     func() *http.ServeMux
		path    string
		h       http.Handler
		wantErr error
	}{
		{name: "ok", path: middleware.DefaultPath, h: logoutStub},
		{name: "nested ok", path: "/oidc/bc-logout_v1.0~a", h: logoutStub},
		{name: "nil mux", mux: func() *http.ServeMux { return nil }, path: middleware.DefaultPath, h: logoutStub, wantErr: middleware.ErrInvalidMount},
		{name: "nil handler", path: middleware.DefaultPath, wantErr: middleware.ErrInvalidMount},
		{name: "empty", path: "", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "relative", path: "backchannel-logout", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "root", path: "/", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "trailing slash", path: "/a/", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "empty segment", path: "/a//b", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "dot segment", path: "/a/./b", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "dot dot segment", path: "/a/../b", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "method in pattern", path: "POST /a", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "servemux wildcard", path: "/{x}", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "echo param", path: "/:x", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "star", path: "/a*", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "escape", path: "/%41", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "query", path: "/a?b", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "space", path: "/a b", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{name: "non ascii", path: "/dé", h: logoutStub, wantErr: middleware.ErrInvalidPath},
		{
			name: "already registered",
			mux: func() *http.ServeMux {
				m := http.NewServeMux()
				m.Handle(middleware.DefaultPath, logoutStub)
				return m
			},
			path: middleware.DefaultPath, h: logoutStub, wantErr: middleware.ErrInvalidMount,
		},
		{
			name: "conflicting wildcard",
			mux: func() *http.ServeMux {
				m := http.NewServeMux()
				m.Handle("GET /{page}", logoutStub)
				return m
			},
			path: middleware.DefaultPath, h: logoutStub, wantErr: middleware.ErrInvalidMount,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			if tt.mux != nil {
				mux = tt.mux()
			}
			err := middleware.Mount(mux, tt.path, tt.h)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Mount(%q) = %v, want %v", tt.path, err, tt.wantErr)
			}
			if tt.wantErr == nil && middleware.CheckPath(tt.path) != nil {
				t.Errorf("CheckPath(%q) rejected a path Mount accepted", tt.path)
			}
		})
	}
}

func ExampleMount() {
	logout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "the rp.Handler answers ", r.Method)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	if err := middleware.Mount(mux, middleware.DefaultPath, logout); err != nil {
		fmt.Println(err)
		return
	}

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, middleware.DefaultPath, nil))
	body, _ := io.ReadAll(rec.Body)
	fmt.Println(string(body))
	// Output: the rp.Handler answers GET
}
