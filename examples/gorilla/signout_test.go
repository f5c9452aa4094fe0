package main

import (
	"net/http"
	"testing"

	"github.com/bclogout/bclogout/examples/internal/apptest"
)

// TestSignOutButton: Sign out in one app signs the browser out of the
// other app of the same OP session too.
func TestSignOutButton(t *testing.T) {
	apptest.SignOutButton(t, func(issuer, clientID, baseURL string) (http.Handler, error) {
		return newApp(t.Context(), config{Issuer: issuer, ClientID: clientID, BaseURL: baseURL})
	})
}
