package readme

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// appSessions is the session library of an app under test: gorilla's
// CookieStore, which no logout can delete (so only the guard can end a
// session), or scs with its memory store.
type appSessions struct {
	gorilla sessions.Store      // or
	scs     *scs.SessionManager // the other
}

func (s appSessions) adapter() sessionadapter.Sessions {
	if s.scs != nil {
		return scsadapter.New(s.scs)
	}
	return gorillaadapter.New(s.gorilla, "session")
}

// showUser writes who the session belongs to.
func (s appSessions) showUser(w http.ResponseWriter, r *http.Request) {
	if s.scs != nil {
		fmt.Fprint(w, s.scs.GetString(r.Context(), "user"))
		return
	}
	gs, _ := s.gorilla.Get(r, "session")
	user, _ := gs.Values["user"].(string)
	fmt.Fprint(w, user)
}

// routers mounts the README's "chi, echo and gin" snippets, each with a
// home page that says who the session belongs to.
var routers = map[string]struct {
	scs   bool // the snippet is scs's; the others are gorilla's
	mount func(logout *bclogout.RP, s appSessions) http.Handler
}{
	"chi": {mount: func(logout *bclogout.RP, s appSessions) http.Handler { return chiMount(logout, s.showUser) }},
	// The chi snippet's comment, with scs.
	"chi, scs": {scs: true, mount: func(logout *bclogout.RP, s appSessions) http.Handler {
		r := chi.NewRouter()
		r.Use(s.scs.LoadAndSave, logout.Guard)
		r.Get("/", s.showUser)
		r.Handle("/signout", logout.SignOut())
		return logout.Endpoints(r)
	}},
	"echo": {mount: func(logout *bclogout.RP, s appSessions) http.Handler {
		return echoMount(logout, func(c echo.Context) error { s.showUser(c.Response(), c.Request()); return nil })
	}},
	"gin": {mount: func(logout *bclogout.RP, s appSessions) http.Handler {
		return ginMount(logout, func(c *gin.Context) { s.showUser(c.Writer, c.Request) })
	}},
}

// mountedApp serves the router's snippet on an httptest server, with a
// /callback?id_token= route that stands for the login callback after the
// code exchange.
func mountedApp(t *testing.T, op *opkit.OP, withSCS bool, mount func(*bclogout.RP, appSessions) http.Handler) *httptest.Server {
	t.Helper()
	var s appSessions
	if withSCS {
		s.scs = scs.New()
		s.scs.Store = memstore.NewWithCleanupInterval(0)
	} else {
		s.gorilla = sessions.NewCookieStore([]byte(rand.Text() + rand.Text()))
	}
	logout, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "my-app", Sessions: s.adapter()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logout.Close(context.Background()) })
	root := http.NewServeMux()
	root.Handle("/", mount(logout, s))
	var callback http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if s.scs != nil {
			s.scs.Put(r.Context(), "user", "alice")
		} else if gs, gerr := s.gorilla.Get(r, "session"); gerr != nil {
			err = gerr
		} else {
			gs.Values["user"] = "alice"
		}
		if err == nil {
			err = logout.Login(w, r, r.FormValue("id_token")) // saves a gorilla session
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	if s.scs != nil {
		callback = s.scs.LoadAndSave(callback)
	}
	root.Handle("/callback", callback)
	app := httptest.NewServer(root)
	t.Cleanup(app.Close)
	return app
}

// TestGuardEndsLoggedOutSessionOnEveryRouter: with each router mounted as
// the README shows, the OP's cookieless logout token reaches the endpoint,
// and the guard on the app's routes ends that session, and only that one
// (OpenID Connect Back-Channel Logout 1.0 §2.7).
func TestGuardEndsLoggedOutSessionOnEveryRouter(t *testing.T) {
	for name, router := range routers {
		t.Run(name, func(t *testing.T) {
			op := opkit.New(t)
			app := mountedApp(t, op, router.scs, router.mount)
			if err := op.RegisterClient(opkit.Client{ID: "my-app", BackchannelLogoutURI: app.URL + "/backchannel-logout"}); err != nil {
				t.Fatal(err)
			}
			login := func() (sid string, c *http.Cookie) {
				t.Helper()
				sid, err := op.NewSession("alice", "my-app")
				if err != nil {
					t.Fatal(err)
				}
				raw, err := signIDToken(op, "my-app", "alice", sid)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.Get(app.URL + "/callback?id_token=" + raw)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
					t.Fatalf("callback: %s, cookies %v", resp.Status, resp.Cookies())
				}
				return sid, resp.Cookies()[0]
			}
			page := func(c *http.Cookie) string {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
				req.AddCookie(c)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}

			sid, cookie := login()
			_, other := login()
			if got := page(cookie); got != "alice" {
				t.Fatalf("signed in: page %q", got)
			}
			if _, err := op.EndSession(t.Context(), sid); err != nil {
				t.Fatalf("the OP's logout token did not get through the router: %v", err)
			}
			if got := page(cookie); got == "alice" {
				t.Error("after the OP's logout the session is still signed in")
			}
			if got := page(other); got != "alice" {
				t.Errorf("the user's other OP session: page %q", got)
			}
		})
	}
}

// TestLibraryRoutesAnswerOtherMethodsOnEveryRouter: mounted as the README
// shows, the back-channel endpoint and the sign-out route answer the
// methods they do not take themselves, with 405, Allow and
// Cache-Control: no-store (the OP's request and its answer must not be
// cached, §2.5, §2.8), and no router answers for them; what each router
// does with a method it does not know is listed as it is.
func TestLibraryRoutesAnswerOtherMethodsOnEveryRouter(t *testing.T) {
	type request struct {
		method, path string
		want         int
		wantAllow    string // "" when the router answers, not the library
	}
	common := []request{
		{http.MethodGet, "/backchannel-logout", 405, "POST"},
		{http.MethodHead, "/backchannel-logout", 405, "POST"},
		{http.MethodPut, "/backchannel-logout", 405, "POST"},
		{http.MethodPatch, "/backchannel-logout", 405, "POST"},
		{http.MethodDelete, "/backchannel-logout", 405, "POST"},
		{http.MethodOptions, "/backchannel-logout", 405, "POST"},
		{http.MethodPut, "/signout", 405, "GET, HEAD, POST"},
		{http.MethodDelete, "/signout", 405, "GET, HEAD, POST"},
		{http.MethodOptions, "/signout", 405, "GET, HEAD, POST"},
	}
	tests := map[string][]request{
		// Endpoints, ahead of every router, answers every method of the
		// back-channel path itself, one no router knows included.
		"chi": append(common, request{"PURGE", "/backchannel-logout", 405, "POST"},
			// chi answers a method it does not know with its own 405
			// before routing (chi.RegisterMethod adds one).
			request{"PURGE", "/signout", 405, ""}),
		// echo's Any routes only the methods echo knows: another gets
		// echo's own 405 (its router's answer, run through e.Use's guard).
		"echo": append(common, request{"PURGE", "/backchannel-logout", 405, "POST"}, request{"PURGE", "/signout", 405, ""}),
		// gin's Any routes only the methods gin knows: another is not found.
		"gin": append(common, request{"PURGE", "/backchannel-logout", 405, "POST"}, request{"PURGE", "/signout", 404, ""}),
	}
	tests["chi, scs"] = tests["chi"]
	for name, router := range routers {
		t.Run(name, func(t *testing.T) {
			op := opkit.New(t)
			app := mountedApp(t, op, router.scs, router.mount)
			for _, tt := range tests[name] {
				t.Run(tt.method+" "+tt.path, func(t *testing.T) {
					req, _ := http.NewRequest(tt.method, app.URL+tt.path, nil)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != tt.want {
						t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
					}
					if tt.wantAllow == "" {
						return
					}
					if got := resp.Header.Get("Allow"); got != tt.wantAllow {
						t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
					}
					if got := resp.Header.Get("Cache-Control"); got != "no-store" {
						t.Errorf("Cache-Control = %q, want no-store", got)
					}
				})
			}
		})
	}
}
