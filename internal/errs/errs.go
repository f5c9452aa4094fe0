// Package errs holds the module's one constructor-error sentinel, exported
// as bclogout.ErrInvalidConfig, so that every package of the module (and
// each adapter module) can return it without importing the root package,
// which imports them.
package errs

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig is returned, wrapped, by every constructor of the module
// whose configuration is invalid (a nil option, a bound out of range, a
// missing required value). Callers test it with errors.Is against
// bclogout.ErrInvalidConfig.
var ErrInvalidConfig = errors.New("bclogout: invalid configuration")

// Config returns an error that wraps ErrInvalidConfig and reads
// "pkg: invalid configuration: detail".
func Config(pkg, format string, args ...any) error {
	return &configError{pkg: pkg, detail: fmt.Sprintf(format, args...)}
}

type configError struct{ pkg, detail string }

func (e *configError) Error() string {
	return e.pkg + ": invalid configuration: " + e.detail
}

func (e *configError) Unwrap() error { return ErrInvalidConfig }
