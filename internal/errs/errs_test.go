package errs_test

import (
	"errors"
	"testing"

	"github.com/bclogout/bclogout/internal/errs"
)

func TestConfig(t *testing.T) {
	err := errs.Config("rp", "max age %v must be positive", -1)
	if !errors.Is(err, errs.ErrInvalidConfig) {
		t.Fatalf("errors.Is(%v, ErrInvalidConfig) = false", err)
	}
	if got, want := err.Error(), "rp: invalid configuration: max age -1 must be positive"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
