package opkit_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

// startApp serves a hand-written app for fakeop's browser checks. Its
// /login goes to the OP; its /callback redeems the code at the token
// endpoint and sets a cookie when redeem is set, and otherwise just
// redirects home (a broken callback, or one that fails and redirects to a
// public page); its back-channel endpoint answers logoutStatus.
func startApp(t *testing.T, op *opkit.OP, backchannel bool, redeem bool, logoutStatus int) *httptest.Server {
	t.Helper()
	c := opkit.Client{ID: "app", Secret: "secret", RedirectURIs: []string{"/callback"}}
	if backchannel {
		c.BackchannelLogoutURI = "/backchannel-logout"
	}
	return op.StartApp(t, c, func(base string) (http.Handler, error) {
		mux := http.NewServeMux()
		mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
			q := url.Values{"client_id": {"app"}, "redirect_uri": {base + "/callback"}, "response_type": {"code"}, "state": {"s"}}
			http.Redirect(w, r, op.Issuer()+"/authorize?"+q.Encode(), http.StatusFound)
		})
		mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
			if redeem {
				form := url.Values{"grant_type": {"authorization_code"}, "code": {r.FormValue("code")}, "redirect_uri": {base + "/callback"}}
				req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, op.Issuer()+"/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("app", "secret")
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					http.Error(w, "token endpoint", http.StatusBadGateway)
					return
				}
				resp.Body.Close()
				http.SetCookie(w, &http.Cookie{Name: "app", Value: "signed-in", Path: "/"})
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
		})
		mux.HandleFunc("/backchannel-logout", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(logoutStatus) })
		mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "Signed out") })
		return mux, nil
	})
}

// TestSignInNeedsCodeRedemption (found by the outside review): SignIn used
// to check only that the app's final answer was 2xx, so the README's
// "logout works" test passed for an app whose callback never redeems the
// code nor starts a session. SignIn now fails for it.
func TestSignInNeedsCodeRedemption(t *testing.T) {
	op := opkit.New(t)
	app := startApp(t, op, true, false, http.StatusOK)
	if _, err := opkit.SignInErr(op, t.Context(), app.URL+"/login", "alice"); !errors.Is(err, opkit.ErrSignIn) {
		t.Fatalf("SignIn through an app that never redeems the code: err = %v, want ErrSignIn", err)
	}
}

// TestSignOutNeedsEveryRPAnswered200: SignOut used to succeed with zero
// deliveries. It now fails unless every RP of the session got a logout
// token and answered it with 200.
func TestSignOutNeedsEveryRPAnswered200(t *testing.T) {
	tests := []struct {
		name        string
		backchannel bool
		status      int
		wantErr     error
	}{
		{name: "answered 200", backchannel: true, status: http.StatusOK},
		{name: "no back-channel logout URI", backchannel: false, status: http.StatusOK, wantErr: opkit.ErrDeliveryFailed},
		{name: "answered 204", backchannel: true, status: http.StatusNoContent, wantErr: opkit.ErrDeliveryFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := opkit.New(t)
			app := startApp(t, op, tt.backchannel, true, tt.status)
			browser, err := opkit.SignInErr(op, t.Context(), app.URL+"/login", "alice")
			if err != nil {
				t.Fatal(err)
			}
			_, err = opkit.SignOutErr(op, t.Context(), browser)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("SignOut: err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
