package rp_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/bclogout/bclogout/rp"
)

// TestRequiredExpMissingHasItsOwnReason tells operators "the OP sent no
// exp" apart from "the token expired": the first is a configuration
// mismatch with the OP (WithRequireExp against an OP that omits exp), the
// second a late or replayed token.
func TestRequiredExpMissingHasItsOwnReason(t *testing.T) {
	now := float64(testNow.Unix())
	tests := []struct {
		name        string
		token       string
		wantErr     error
		wantMissing bool
		wantReason  string
	}{
		{name: "exp missing, required", token: mint(t, setClaim("exp", nil)), wantErr: rp.ErrExpired, wantMissing: true, wantReason: "exp_missing"},
		{name: "exp past, required", token: mint(t, setClaim("exp", now-61)), wantErr: rp.ErrExpired, wantReason: "expired"},
		{name: "exp not a number, required", token: mint(t, setClaim("exp", "soon")), wantErr: rp.ErrExpired, wantReason: "expired"},
		{name: "exp present, required", token: mint(t, nil)},
	}
	v := newVerifier(t, nil, rp.WithRequireExp())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if got := errors.Is(err, rp.ErrExpMissing); got != tt.wantMissing {
				t.Errorf("errors.Is(%v, ErrExpMissing) = %v, want %v", err, got, tt.wantMissing)
			}
			if got := rp.Reason(err); got != tt.wantReason {
				t.Errorf("Reason() = %q, want %q", got, tt.wantReason)
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
