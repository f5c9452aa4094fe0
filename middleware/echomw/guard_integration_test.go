package echomw_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout/middleware/internal/mwtest"
)

// TestGuardWithRealGuard runs middleware.Guard through echo's adapter, as
// the package doc wires it: a session revoked by a back-channel logout is
// refused, others pass.
func TestGuardWithRealGuard(t *testing.T) {
	guard := mwtest.RevokedGuard(t)
	e := echo.New()
	e.Use(echo.WrapMiddleware(guard))
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
			req.Header.Set(mwtest.SIDHeader, tt.sid)
			rec := mwtest.ServeReq(e, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}
