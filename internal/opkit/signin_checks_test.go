package opkit_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
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
			q := url.Values{"client_id": {"app"}, "redirect_uri": {base + "/callback"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
			http.Redirect(w, r, op.Issuer()+"/authorize?"+q.Encode(), http.StatusFound)
		})
		mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
			if redeem {
				resp, err := opkit.RedeemCode(r.Context(), op.Issuer()+"/token", "app", "secret", r.FormValue("code"), base+"/callback")
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

// TestSignInNeedsCodeRedemption: SignIn used
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

// TestSignOutHoldsTheCallbackInFlight: SignOut signs the browser in again
// through the app and ends the OP session while the app's callback waits
// for the token endpoint, so the app's callback loaded its session before
// the logout and answers after it; the code of the ended session fails.
func TestSignOutHoldsTheCallbackInFlight(t *testing.T) {
	op := opkit.New(t)
	var mu sync.Mutex
	var events []string
	note := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	app := op.StartApp(t, opkit.Client{ID: "app", Secret: "secret", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
		func(base string) (http.Handler, error) {
			mux := http.NewServeMux()
			mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
				q := url.Values{"client_id": {"app"}, "redirect_uri": {base + "/callback"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
				http.Redirect(w, r, op.Issuer()+"/authorize?"+q.Encode(), http.StatusFound)
			})
			mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
				note("callback loads the session")
				resp, err := opkit.RedeemCode(r.Context(), op.Issuer()+"/token", "app", "secret", r.FormValue("code"), base+"/callback")
				if err != nil {
					http.Error(w, "token endpoint", http.StatusBadGateway)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				note(fmt.Sprintf("token endpoint answers %d %s", resp.StatusCode, bytes.TrimSpace(body)))
				http.SetCookie(w, &http.Cookie{Name: "app", Value: "signed-in", Path: "/"})
				note("callback saves the session")
				http.Redirect(w, r, "/", http.StatusSeeOther)
			})
			mux.HandleFunc("/backchannel-logout", func(http.ResponseWriter, *http.Request) { note("logout delivered") })
			mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) {})
			return mux, nil
		})
	browser := op.SignIn(t, app.URL+"/login", "alice")
	mu.Lock()
	events = nil
	mu.Unlock()

	rep := op.SignOut(t, browser)
	if len(rep.Deliveries) != 1 || rep.Deliveries[0].Status != http.StatusOK {
		t.Fatalf("report %+v", rep)
	}
	want := []string{
		"callback loads the session",
		"logout delivered",
		`token endpoint answers 400 {"error":"invalid_grant"}`,
		"callback saves the session",
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, want) {
		t.Errorf("events:\n got %q\nwant %q", events, want)
	}
}

// TestSignOutNeedsTheLoginRoute: an app whose login route starts no new
// authorization request for a signed-in browser gives SignOut no request
// to hold in flight; SignOut then fails rather than prove nothing.
func TestSignOutNeedsTheLoginRoute(t *testing.T) {
	op := opkit.New(t)
	app := startApp(t, op, true, true, http.StatusOK)
	browser, err := opkit.SignInErr(op, t.Context(), app.URL+"/login", "alice")
	if err != nil {
		t.Fatal(err)
	}
	// The app's login route now sends a signed-in browser home.
	opkit.SetLogin(op, browser, app.URL+"/")
	if _, err := opkit.SignOutErr(op, t.Context(), browser); !errors.Is(err, opkit.ErrSignIn) {
		t.Fatalf("SignOut: err = %v, want ErrSignIn", err)
	}
	if sids := op.Sessions("alice"); len(sids) != 1 {
		t.Errorf("Sessions = %v: a SignOut that failed ended the session", sids)
	}
}
