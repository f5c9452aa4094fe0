package rp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/bclogout/bclogout/rp"
)

// TestRequiredExpMissingIsToldApart tells operators "the OP sent no exp"
// apart from "the token expired" by the error's detail: the first is a
// configuration mismatch with the OP (WithRequireExp against an OP that
// omits exp), the second a late or replayed token. Both are ErrTime, and
// metrics count both as "time".
func TestRequiredExpMissingIsToldApart(t *testing.T) {
	now := float64(testNow.Unix())
	tests := []struct {
		name        string
		token       string
		wantErr     error
		wantMissing bool
		wantReason  string
	}{
		{name: "exp missing, required", token: mint(t, setClaim("exp", nil)), wantErr: errExpired, wantMissing: true, wantReason: "time"},
		{name: "exp past, required", token: mint(t, setClaim("exp", now-61)), wantErr: errExpired, wantReason: "time"},
		{name: "exp not a number, required", token: mint(t, setClaim("exp", "soon")), wantErr: errExpired, wantReason: "time"},
		{name: "exp present, required", token: mint(t, nil)},
	}
	v := newVerifier(t, nil, rp.WithRequireExp())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			if !isErr(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if got := isErr(err, errExpMissing); got != tt.wantMissing {
				t.Errorf("%v names a missing exp: %v, want %v", err, got, tt.wantMissing)
			}
			if err == nil {
				return
			}
			env := newHandlerEnv(t, v)
			checkAnswer(t, post(env.h, formBody(tt.token)), http.StatusBadRequest, "invalid_request")
			if len(env.metrics.rejected) != 1 || env.metrics.rejected[0] != tt.wantReason {
				t.Errorf("metrics reasons = %q, want [%q]", env.metrics.rejected, tt.wantReason)
			}
		})
	}
}
