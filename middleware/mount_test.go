package middleware_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/mount"
	"github.com/bclogout/bclogout/middleware/internal/mwtest"
)

// The logout path's mounting rules (internal/mount, behind the command's
// --path) on a ServeMux: a pattern without a method routes every method to
// the handler, which answers all but POST with its own 405. The README's
// mountings on chi, echo and gin are tested in examples/readme.
func TestMountRoutesEveryMethodToHandler(t *testing.T) {
	mux := http.NewServeMux()
	// Method patterns elsewhere on the mux must not take the logout path.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {})
	if err := mount.With(mux.Handle, mwtest.Path, mwtest.LogoutStub); err != nil {
		t.Fatalf("mount.With: %v", err)
	}

	mwtest.CheckRoutes(t, mux, []mwtest.Route{
		{Name: "post", Method: http.MethodPost, Path: "/backchannel-logout", Want: 200, WantStub: true},
		{Name: "get", Method: http.MethodGet, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "head", Method: http.MethodHead, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "put", Method: http.MethodPut, Path: "/backchannel-logout", Want: 405, WantStub: true},
		{Name: "delete", Method: http.MethodDelete, Path: "/backchannel-logout", Want: 405, WantStub: true},
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
		mux     func() *http.ServeMux
		path    string
		h       http.Handler
		wantErr error
	}{
		{name: "ok", path: mwtest.Path, h: mwtest.LogoutStub},
		{name: "nested ok", path: "/oidc/bc-logout_v1.0~a", h: mwtest.LogoutStub},
		{name: "nil handler", path: mwtest.Path, wantErr: errs.ErrInvalidConfig},
		{name: "empty", path: "", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "relative", path: "backchannel-logout", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "root", path: "/", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "trailing slash", path: "/a/", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "empty segment", path: "/a//b", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "dot segment", path: "/a/./b", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "dot dot segment", path: "/a/../b", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "method in pattern", path: "POST /a", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "servemux wildcard", path: "/{x}", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "echo param", path: "/:x", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "star", path: "/a*", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "escape", path: "/%41", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "query", path: "/a?b", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "space", path: "/a b", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "non ascii", path: "/dé", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{
			name: "already registered",
			mux: func() *http.ServeMux {
				m := http.NewServeMux()
				m.Handle(mwtest.Path, mwtest.LogoutStub)
				return m
			},
			path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig,
		},
		{
			name: "conflicting wildcard",
			mux: func() *http.ServeMux {
				m := http.NewServeMux()
				m.Handle("GET /{page}", mwtest.LogoutStub)
				return m
			},
			path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			if tt.mux != nil {
				mux = tt.mux()
			}
			err := mount.With(mux.Handle, tt.path, tt.h)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("mount.With(%q) = %v, want %v", tt.path, err, tt.wantErr)
			}
			if tt.wantErr == nil && mount.CheckPath("path", tt.path) != nil {
				t.Errorf("CheckPath(%q) rejected a path mount.With accepted", tt.path)
			}
		})
	}
}

func TestMountWithRouter(t *testing.T) {
	var routed string
	tests := []struct {
		name    string
		add     func(string, http.Handler)
		path    string
		h       http.Handler
		wantErr error
	}{
		{name: "routes", add: func(p string, _ http.Handler) { routed = p }, path: mwtest.Path, h: mwtest.LogoutStub},
		{name: "nil add", path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "nil handler", add: func(string, http.Handler) {}, path: mwtest.Path, wantErr: errs.ErrInvalidConfig},
		{name: "bad path", add: func(string, http.Handler) { t.Fatal("add called for a bad path") }, path: "/a/{b}", h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
		{name: "router refuses", add: func(string, http.Handler) { panic("conflicting route") }, path: mwtest.Path, h: mwtest.LogoutStub, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routed = ""
			err := mount.With(tt.add, tt.path, tt.h)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("mount.With err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && routed != tt.path {
				t.Fatalf("routed %q, want %q", routed, tt.path)
			}
		})
	}
}
