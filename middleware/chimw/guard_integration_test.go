package chimw_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/chimw"
	"github.com/bclogout/bclogout/sessionadapter"
)

// TestGuardWithRealGuard runs middleware.Guard under r.Use beside a mounted
// logout route: a session revoked by a back-channel logout is refused,
// others pass, and the OP's cookieless request still reaches the handler.
func TestGuardWithRealGuard(t *testing.T) {
	const iss = "https://op.example"
	login := time.Now().Add(-time.Hour)
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	if err := rev.Revoke(t.Context(), sessionadapter.Logout{Issuer: iss, SessionID: "revoked", IssuedAt: login.Add(time.Minute)}, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	// The session's sid comes from a header here; an app reads its cookie.
	lookup := func(r *http.Request) (sessionadapter.Binding, bool) {
		sid := r.Header.Get("X-Sid")
		return sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: sid, LocalID: sid, LoginTime: login}, sid != ""
	}
	guard, err := middleware.Guard(rev, lookup)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(guard)
	r.Get("/app", func(w http.ResponseWriter, r *http.Request) {})
	if err := chimw.Mount(r, middleware.DefaultPath, logoutStub); err != nil {
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
		{name: "logout request", method: http.MethodPost, path: middleware.DefaultPath, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("X-Sid", tt.sid)
			rec := serveReq(r, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}
