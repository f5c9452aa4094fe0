package echomw_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/middleware/echomw"
	"github.com/bclogout/bclogout/sessionadapter"
)

// TestGuardWithRealGuard runs middleware.Guard through the adapter: a
// session revoked by a back-channel logout is refused, others pass.
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
	e := echo.New()
	e.Use(echomw.Guard(guard))
	e.GET("/app", func(c echo.Context) error { return c.NoContent(http.StatusOK) })

	tests := []struct {
		name string
		sid  string
		want int
	}{
		{name: "no session", want: http.StatusOK},
		{name: "live session", sid: "live", want: http.StatusOK},
		{name: "revoked session", sid: "revoked", want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "/app", nil)
			req.Header.Set("X-Sid", tt.sid)
			rec := serveReq(e, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}
