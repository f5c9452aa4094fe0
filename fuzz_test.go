package bclogout_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
)

// FuzzEndpoints sends whatever a network peer could to the front door's
// endpoints (the back-channel logout, the Shared Signals push, the
// front-channel frame and the post-logout landing): nothing panics, and
// every answer is one the endpoints document.
func FuzzEndpoints(f *testing.F) {
	op := opkit.New(f)
	s := newMemSessions()
	bl, err := bclogout.New(f.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: s,
		PostLogoutRedirectURI: "http://127.0.0.1/goodbye",
		FrontChannelPath:      "/frontchannel-logout",
		SharedSignals:         &bclogout.SharedSignals{BearerToken: "secret"},
	})
	if err != nil {
		f.Fatal(err)
	}
	closeRP(f, bl)
	mux := http.NewServeMux()
	mux.Handle("/goodbye", bl.SignOut())
	h := bl.Endpoints(mux)
	paths := []string{"/backchannel-logout", "/shared-signals", "/frontchannel-logout", "/goodbye"}
	allowed := map[int]bool{200: true, 202: true, 303: true, 400: true, 401: true, 405: true, 413: true, 415: true, 503: true}

	logoutTok := op.LogoutToken("app", "alice", "sid-a")
	f.Add(uint8(0), "POST", "application/x-www-form-urlencoded", "", "logout_token="+logoutTok, "")
	f.Add(uint8(1), "POST", "application/secevent+jwt", "", logoutTok, "Bearer secret")
	f.Add(uint8(2), "GET", "", "iss="+op.Issuer()+"&sid=", "", "")
	f.Add(uint8(2), "GET", "", "iss=x&sid=sid-a", "", "")
	f.Add(uint8(3), "GET", "", "state=abc", "", "")
	f.Fuzz(func(t *testing.T, which uint8, method, ctype, query, body, auth string) {
		path := paths[int(which)%len(paths)]
		r, err := http.NewRequest(method, "http://app.example"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		r.AddCookie(&http.Cookie{Name: "session", Value: "alice"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !allowed[w.Code] {
			t.Fatalf("%s answered %d", path, w.Code)
		}
	})
}
