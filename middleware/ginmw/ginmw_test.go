package ginmw_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/middleware/ginmw"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no route dump on stdout
	os.Exit(m.Run())
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
			var value, outer string
			r := gin.New()
			r.Use(func(c *gin.Context) {
				c.Next()
				outer, _ = c.Request.Context().Value(ctxKey{}).(string)
			})
			r.Use(ginmw.Guard(tt.guard))
			r.GET("/app", func(c *gin.Context) {
				reached = true
				value, _ = c.Request.Context().Value(ctxKey{}).(string)
				c.Status(http.StatusOK)
			})
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app", nil))
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			if reached != tt.wantHandler {
				t.Errorf("handler reached = %v, want %v", reached, tt.wantHandler)
			}
			if value != tt.wantValue {
				t.Errorf("context value = %q, want %q", value, tt.wantValue)
			}
			if outer != "" {
				t.Errorf("the outer handler sees the guard's request (value %q), want its own", outer)
			}
		})
	}
}

// A nil guard is a configuration error, recorded on the gin context.
func TestGuardNilRecordsConfigError(t *testing.T) {
	var got error
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		got = c.Errors.Last()
	})
	r.Use(ginmw.Guard(nil))
	r.GET("/app", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/app", nil))
	var ge *gin.Error
	if !errors.As(got, &ge) || !errors.Is(ge.Err, bclogout.ErrInvalidConfig) {
		t.Fatalf("gin error = %v, want one wrapping ErrInvalidConfig", got)
	}
}
