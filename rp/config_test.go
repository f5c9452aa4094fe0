package rp_test

import (
	"context"
	"testing"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// TestNilOptionIsConfigError: a nil option is a constructor error in every
// constructor of the package, never skipped, and every constructor error
// wraps ErrInvalidConfig (one constructor-error sentinel for the module).
func TestNilOptionIsConfigError(t *testing.T) {
	op := opkit.New(t)
	sessions, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, nil)
	tests := []struct {
		name string
		make func() error
	}{
		{name: "NewVerifier nil option", make: func() error {
			_, err := rp.NewVerifier(testIssuer, testClientID, staticKeys(t, defaultKeys(t)...), nil)
			return err
		}},
		{name: "Discover", make: func() error {
			v, err := rp.Discover(context.Background(), op.Issuer(), testClientID, nil)
			if err == nil {
				v.Close()
			}
			return err
		}},
		{name: "NewHandler", make: func() error {
			_, err := rp.NewHandler(v, sessions, nil)
			return err
		}},
		{name: "NewVerifier without issuer", make: func() error {
			_, err := rp.NewVerifier("", testClientID, staticKeys(t, defaultKeys(t)...))
			return err
		}},
		{name: "Join with a nil verifier", make: func() error {
			_, err := rp.Join(v, nil)
			return err
		}},
		{name: "Join of none", make: func() error {
			_, err := rp.Join()
			return err
		}},
		{name: "NewVerifier with WithJWKSOptions, which only Discover can use", make: func() error {
			_, err := rp.NewVerifier(testIssuer, testClientID, staticKeys(t, defaultKeys(t)...), rp.WithJWKSOptions())
			return err
		}},
		{name: "Discover with an insecure issuer", make: func() error {
			_, err := rp.Discover(context.Background(), "http://op.example", testClientID)
			return err
		}},
		{name: "Discover with bad key set options", make: func() error {
			_, err := rp.Discover(context.Background(), op.Issuer(), testClientID,
				rp.WithJWKSOptions(jwks.WithHTTPClient(nil)))
			return err
		}},
		{name: "NewHandler without sessions", make: func() error {
			_, err := rp.NewHandler(v, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.make(); !isErr(err, errs.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}
