package fakeop_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/internal/opkit"
)

// app is a bare relying party: the authorization-code flow by hand, a
// session per sid in a map (deleted by the back-channel endpoint), and no
// guard. It does not verify signatures; the rp package's tests do.
type app struct {
	mu       sync.Mutex
	sessions map[string]string // cookie (= sid) -> sub
}

func startApp(t *testing.T, op *fakeop.OP) *httptest.Server {
	t.Helper()
	a := &app{sessions: map[string]string{}}
	return op.StartApp(t, fakeop.Client{ID: "app", Secret: "secret", RedirectURIs: []string{"/callback"}, BackchannelLogoutURI: "/backchannel-logout"},
		func(base string) (http.Handler, error) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
				q := url.Values{"client_id": {"app"}, "redirect_uri": {base + "/callback"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
				http.Redirect(w, r, op.Issuer()+"/authorize?"+q.Encode(), http.StatusFound)
			})
			mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
				resp, err := opkit.RedeemCode(r.Context(), op.Issuer()+"/token", "app", "secret", r.FormValue("code"), base+"/callback")
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
				c := payload(t, tok.IDToken)
				a.mu.Lock()
				a.sessions[c.SID] = c.Sub
				a.mu.Unlock()
				http.SetCookie(w, &http.Cookie{Name: "app", Value: c.SID, Path: "/"})
				http.Redirect(w, r, "/", http.StatusSeeOther)
			})
			mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
				sub := ""
				if ck, err := r.Cookie("app"); err == nil {
					a.mu.Lock()
					sub = a.sessions[ck.Value]
					a.mu.Unlock()
				}
				if sub == "" {
					fmt.Fprint(w, "Signed out")
					return
				}
				fmt.Fprint(w, "Signed in as "+sub)
			})
			mux.HandleFunc("POST /backchannel-logout", func(_ http.ResponseWriter, r *http.Request) {
				c := payload(t, r.FormValue("logout_token"))
				a.mu.Lock()
				delete(a.sessions, c.SID)
				a.mu.Unlock()
			})
			return mux, nil
		})
}

type claims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	SID string `json:"sid"`
	Iat int64  `json:"iat"`
}

func payload(t *testing.T, jwt string) claims {
	var c claims
	parts := strings.Split(jwt, ".")
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

func header(t *testing.T, jwt string) map[string]any {
	var h map[string]any
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err == nil {
		err = json.Unmarshal(b, &h)
	}
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

func page(t *testing.T, browser *http.Client, u string) string {
	t.Helper()
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestSignInSignOut is the README's test on a bare app: SignIn through the
// app's login route, SignOut of that browser's OP session alone, the next
// page signed out, and another device of the same user still signed in.
func TestSignInSignOut(t *testing.T) {
	op := fakeop.New(t)
	app := startApp(t, op)
	browser := op.SignIn(t, app.URL+"/login", "alice")
	other := op.SignIn(t, app.URL+"/login", "alice")
	if got := page(t, browser, app.URL); got != "Signed in as alice" {
		t.Fatalf("after SignIn: %q", got)
	}
	sids := op.Sessions("alice")
	if len(sids) != 2 {
		t.Fatalf("Sessions = %v, want two", sids)
	}
	op.SignOut(t, browser)
	if got := page(t, browser, app.URL); got != "Signed out" {
		t.Errorf("after SignOut: %q", got)
	}
	if got := page(t, other, app.URL); got != "Signed in as alice" {
		t.Errorf("the other device after SignOut: %q", got)
	}
	if got := op.Sessions(""); !slices.Equal(got, sids[1:]) {
		t.Errorf("Sessions after SignOut = %v, want %v", got, sids[1:])
	}
}

// TestLowerLevel: the fan-out SignOut runs, to sessions made without a
// browser: an RP's refusal reported, and a token to POST by hand.
func TestLowerLevel(t *testing.T) {
	var mu sync.Mutex
	var got []claims
	status := http.StatusOK
	rp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, payload(t, r.FormValue("logout_token")))
		w.WriteHeader(status)
	})
	op := fakeop.New(t)
	op.StartApp(t, fakeop.Client{ID: "rp", BackchannelLogoutURI: "/"}, func(string) (http.Handler, error) { return rp, nil })
	ctx := t.Context()

	sid, err := op.NewSession("alice", "rp")
	if err != nil {
		t.Fatal(err)
	}
	if err := op.EndSession(ctx, sid); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	if err := op.EndSession(ctx, sid); err == nil || !strings.Contains(err.Error(), "unknown session") {
		t.Errorf("EndSession of an ended session: %v, want unknown session", err)
	}

	bob, _ := op.NewSession("bob", "rp")
	mu.Lock()
	status = http.StatusBadRequest // a 4xx is final
	mu.Unlock()
	if err := op.EndSession(ctx, bob); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("EndSession to an RP answering 400: %v, want its status", err)
	}
	mu.Lock()
	if len(got) != 2 || got[0].Sub != "alice" || got[1].Sub != "bob" || got[1].SID != bob || got[0].Iss != op.Issuer() {
		t.Errorf("logout tokens %+v", got)
	}
	mu.Unlock()

	tok, err := op.SignLogoutToken("rp", "carol", "")
	if err != nil {
		t.Fatal(err)
	}
	if c := payload(t, tok); c.Sub != "carol" || c.SID != "" || c.Iss != op.Issuer() {
		t.Errorf("SignLogoutToken claims %+v", c)
	}
}

// TestOptions: the option shows in what the OP signs.
func TestOptions(t *testing.T) {
	op := fakeop.New(t, fakeop.WithAlg("ES256"))
	tok, err := op.SignLogoutToken("rp", "alice", "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	if alg := header(t, tok)["alg"]; alg != "ES256" {
		t.Errorf("alg = %v, want ES256", alg)
	}
}
