package rejection_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bclogout/bclogout/internal/rejection"
)

func TestReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "wrapped", err: fmt.Errorf("%w: bad", rejection.Signature), want: "signature"},
		{name: "joined", err: errors.Join(errors.New("x"), rejection.Claims), want: "claims"},
		{name: "foreign", err: errors.New("x"), want: "internal"},
		{name: "request", err: fmt.Errorf("%w: GET", rejection.Request), want: "request"},
		{name: "malformed", err: rejection.Malformed, want: "malformed"},
		{name: "temporary", err: rejection.Temporary, want: "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rejection.Reason(tt.err); got != tt.want {
				t.Errorf("Reason() = %q, want %q", got, tt.want)
			}
		})
	}
}

// A request error is malformed too: a caller that branches on the
// exported classes sees it as rp.ErrMalformed.
func TestRequestIsMalformed(t *testing.T) {
	if !errors.Is(fmt.Errorf("%w: x", rejection.Request), rejection.Malformed) {
		t.Fatal("Request is not Malformed")
	}
}
