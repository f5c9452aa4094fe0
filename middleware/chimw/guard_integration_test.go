package chimw_test

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/bclogout/bclogout/middleware/chimw"
	"github.com/bclogout/bclogout/middleware/internal/mwtest"
)

// TestGuardWithRealGuard runs middleware.Guard under r.Use beside a mounted
// logout route: a session revoked by a back-channel logout is refused,
// others pass, and the OP's cookieless request still reaches the handler.
func TestGuardWithRealGuard(t *testing.T) {
	guard := mwtest.RevokedGuard(t)
	r := chi.NewRouter()
	r.Use(guard)
	r.Get("/app", func(w http.ResponseWriter, r *http.Request) {})
	if err := chimw.Mount(r, mwtest.Path, mwtest.LogoutStub); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		method string
		path   string
		sid    string
		want   int
	}{
		{name: "no session", method: http.MethodGet, path: "/app", want: http.StatusOK},
		{name: "live session", method: http.MethodGet, path: "/app", sid: "live", want: http.StatusOK},
		{name: "revoked session", method: http.MethodGet, path: "/app", sid: "revoked", want: http.StatusUnauthorized},
		{name: "logout request", method: http.MethodPost, path: mwtest.Path, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.path, nil)
			req.Header.Set(mwtest.SIDHeader, tt.sid)
			rec := mwtest.ServeReq(r, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}
