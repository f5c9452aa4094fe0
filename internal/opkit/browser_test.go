package opkit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
)

// testRP is a bare relying party for the browser helpers: the
// authorization-code flow by hand, a session per sid in a map, and a
// back-channel endpoint that ends the sid it is sent. It does not verify
// the tokens' signatures (the rp package's tests do): it tests the OP.
type testRP struct {
	op  *opkit.OP
	srv *httptest.Server

	mu       sync.Mutex
	sessions map[string]string // cookie (= sid) -> sub
	failCB   atomic.Bool
	noOpenID atomic.Bool // the login route asks for no openid scope
}

func newTestRP(t *testing.T, op *opkit.OP) *testRP {
	t.Helper()
	a := &testRP{op: op, sessions: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		q := url.Values{"client_id": {"app"}, "redirect_uri": {a.srv.URL + "/callback"},
			"response_type": {"code"}, "scope": {"openid"}, "state": {"st"}}
		if a.noOpenID.Load() {
			q.Set("scope", "profile email")
		}
		http.Redirect(w, r, op.Issuer()+"/authorize?"+q.Encode(), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		if a.failCB.Load() || r.FormValue("state") != "st" {
			http.Error(w, "callback refused", http.StatusBadRequest)
			return
		}
		resp, err := opkit.RedeemCode(r.Context(), op.Issuer()+"/token", "app", "secret", r.FormValue("code"), a.srv.URL+"/callback")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var tok struct {
			IDToken string `json:"id_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.IDToken == "" {
			http.Error(w, "no id token", http.StatusBadGateway)
			return
		}
		c := sidClaims(t, tok.IDToken)
		a.mu.Lock()
		a.sessions[c.SID] = c.Sub
		a.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "app", Value: c.SID, Path: "/"})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("app")
		a.mu.Lock()
		sub, ok := a.sessions[valueOf(ck, err)]
		a.mu.Unlock()
		if !ok {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, sub)
	})
	mux.HandleFunc("POST /backchannel-logout", func(w http.ResponseWriter, r *http.Request) {
		c := sidClaims(t, r.FormValue("logout_token"))
		a.mu.Lock()
		delete(a.sessions, c.SID)
		a.mu.Unlock()
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	if err := op.RegisterClient(opkit.Client{
		ID: "app", Secret: "secret", RedirectURIs: []string{a.srv.URL + "/callback"},
		BackchannelLogoutURI: a.srv.URL + "/backchannel-logout",
	}); err != nil {
		t.Fatal(err)
	}
	return a
}

func valueOf(c *http.Cookie, err error) string {
	if err != nil {
		return ""
	}
	return c.Value
}

type claims struct {
	Sub string `json:"sub"`
	SID string `json:"sid"`
}

func sidClaims(t *testing.T, jwt string) claims {
	parts := strings.Split(jwt, ".")
	var c claims
	if len(parts) != 3 {
		t.Errorf("token %q is not a JWS", jwt)
		return c
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		t.Errorf("token payload: %v", err)
	}
	return c
}

func whoami(t *testing.T, browser *http.Client, base string) (int, string) {
	t.Helper()
	resp, err := browser.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestSignInSignOut(t *testing.T) {
	op := opkit.New(t)
	app := newTestRP(t, op)
	ctx := t.Context()

	browser := op.SignIn(t, app.srv.URL+"/login", "alice")
	other := op.SignIn(t, app.srv.URL+"/login", "alice") // a second device
	if code, body := whoami(t, browser, app.srv.URL); code != http.StatusOK || body != "alice" {
		t.Fatalf("after SignIn: %d %q", code, body)
	}
	sid, ok := op.BrowserSession(browser)
	otherSID, _ := op.BrowserSession(other)
	if !ok || sid == otherSID {
		t.Fatalf("BrowserSession = %q, %v; other device %q", sid, ok, otherSID)
	}
	if got, want := op.Sessions("alice"), []string{sid, otherSID}; !slices.Equal(got, want) {
		t.Errorf("Sessions = %v, want %v (login order)", got, want)
	}

	start := time.Now()
	rep := op.SignOut(t, browser)
	elapsed := time.Since(start)
	if len(rep.Deliveries) != 1 || rep.Deliveries[0].Status != http.StatusOK || rep.Deliveries[0].SID != sid {
		t.Fatalf("report %+v", rep)
	}
	if d := rep.Deliveries[0].Duration; d <= 0 || d > elapsed {
		t.Errorf("Delivery.Duration = %v, want in (0, %v]", d, elapsed)
	}
	if code, _ := whoami(t, browser, app.srv.URL); code != http.StatusUnauthorized {
		t.Errorf("after SignOut: %d, want 401", code)
	}
	if code, body := whoami(t, other, app.srv.URL); code != http.StatusOK || body != "alice" {
		t.Errorf("the other device after SignOut: %d %q", code, body)
	}
	if got := op.Sessions("alice"); !slices.Equal(got, []string{otherSID}) {
		t.Errorf("Sessions after SignOut = %v, want [%s]", got, otherSID)
	}
	if _, err := opkit.SignOutErr(op, ctx, browser); !errors.Is(err, opkit.ErrUnknownSession) {
		t.Errorf("second SignOut: %v, want ErrUnknownSession", err)
	}
}

func TestSignInErrors(t *testing.T) {
	op := opkit.New(t)
	app := newTestRP(t, op)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "no login here") }))
	t.Cleanup(elsewhere.Close)

	tests := []struct {
		name     string
		loginURL string
		sub      string
		failCB   bool
		noOpenID bool
	}{
		{name: "login route does not lead to the OP", loginURL: elsewhere.URL, sub: "alice"},
		{name: "app unreachable", loginURL: "http://127.0.0.1:1/login", sub: "alice"},
		{name: "callback fails", loginURL: app.srv.URL + "/login", sub: "alice", failCB: true},
		{name: "empty sub", loginURL: app.srv.URL + "/login"},
		// OpenID Connect Core 1.0 §3.1.2.1: without openid in scope a real
		// OP issues no ID token, so the app could not sign anyone in.
		{name: "login route asks no openid scope", loginURL: app.srv.URL + "/login", sub: "alice", noOpenID: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app.failCB.Store(tt.failCB)
			defer app.failCB.Store(false)
			app.noOpenID.Store(tt.noOpenID)
			defer app.noOpenID.Store(false)
			if _, err := opkit.SignInErr(op, t.Context(), tt.loginURL, tt.sub); !errors.Is(err, opkit.ErrSignIn) {
				t.Errorf("err = %v, want ErrSignIn", err)
			}
		})
	}
	if _, err := opkit.SignOutErr(op, context.Background(), http.DefaultClient); !errors.Is(err, opkit.ErrUnknownSession) {
		t.Errorf("SignOut of a browser without cookies: %v", err)
	}
}

// TestDeliveryDuration: Duration measures the delivery, so a slow RP
// shows in it (it was always 0).
func TestDeliveryDuration(t *testing.T) {
	op := opkit.New(t)
	release := make(chan struct{})
	var waited atomic.Int64
	rp := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		start := time.Now()
		<-release
		waited.Store(int64(time.Since(start)))
	}))
	t.Cleanup(rp.Close)
	if err := op.RegisterClient(opkit.Client{ID: "rp", BackchannelLogoutURI: rp.URL}); err != nil {
		t.Fatal(err)
	}
	sid, _ := op.NewSession("alice", "rp")
	done := make(chan opkit.Report)
	go func() {
		rep, _ := op.EndSession(context.Background(), sid)
		done <- rep
	}()
	// Release the RP only once some time has passed on the OP's side: the
	// handler's own wait is a lower bound of the delivery's duration.
	time.AfterFunc(time.Millisecond, func() { close(release) })
	rep := <-done
	if len(rep.Deliveries) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if d, w := rep.Deliveries[0].Duration, time.Duration(waited.Load()); d < w || d == 0 {
		t.Errorf("Duration = %v, want at least the RP's %v", d, w)
	}
}

type closingHandler struct {
	http.Handler
	closed *atomic.Bool
}

func (h closingHandler) Close() error { h.closed.Store(true); return nil }

// TestStartApp: the app is built with its base URL, path URIs are
// resolved against it, and the handler is closed with the test.
func TestStartApp(t *testing.T) {
	op := opkit.New(t)
	var closed atomic.Bool
	var gotBase string
	t.Run("app", func(t *testing.T) {
		app := op.StartApp(t, opkit.Client{ID: "app", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
			func(baseURL string) (http.Handler, error) {
				gotBase = baseURL
				mux := http.NewServeMux()
				mux.HandleFunc("POST /backchannel-logout", func(http.ResponseWriter, *http.Request) {})
				return closingHandler{mux, &closed}, nil
			})
		if gotBase != app.URL {
			t.Errorf("newApp got %q, server is %q", gotBase, app.URL)
		}
		sid, err := op.NewSession("alice", "app")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := op.EndSession(t.Context(), sid)
		if err != nil || len(rep.Deliveries) != 1 || rep.Deliveries[0].URI != app.URL+"/backchannel-logout" {
			t.Errorf("delivery to the resolved URI: %+v, %v", rep, err)
		}
		if closed.Load() {
			t.Error("handler closed before the test ended")
		}
	})
	if !closed.Load() {
		t.Error("handler not closed when the test ended")
	}
}
