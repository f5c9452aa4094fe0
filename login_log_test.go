package bclogout_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/sessionadapter"
)

// endFails is a Sessions whose End fails: the session store is down when
// Login must end the session it stashed a refused login in.
type endFails struct{ *memSessions }

func (endFails) End(http.ResponseWriter, *http.Request) error {
	return errors.New("session store down")
}

// A login its OP session's logout overtook is logged at Info, nobody's
// to act on; but when Login could not then end the session it stashed
// the login in (the session store is down), the operator must act: Error,
// as for any other store failure.
func TestLoginLogsASessionItCouldNotEndAtError(t *testing.T) {
	op := opkit.New(t)
	logs := &levelLog{msg: "bclogout: login refused"}
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: endFails{newMemSessions()}, Logger: slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	tok, err := op.SignLogoutToken("app", "alice", "sid-a")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	bl.BackChannel().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	err = bl.Login(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/callback", nil),
		idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second)))
	if !errors.Is(err, sessionadapter.ErrRevoked) || !strings.Contains(err.Error(), "session store down") {
		t.Fatalf("precondition: Login = %v, want ErrRevoked and the End failure", err)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if want := []slog.Level{slog.LevelError}; !slices.Equal(logs.levels, want) {
		t.Errorf("logged at %v, want %v: the session holding the refused login was not ended", logs.levels, want)
	}
}

// Config.Logger is where the RP logs: a login its OP session's logout
// overtook is logged there, and nothing of it goes to slog.Default (the
// stores New builds by default log through Config.Logger too).
func TestLoginLogsOnlyThroughConfigLogger(t *testing.T) {
	def := &levelLog{}
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(def))
	def.msg = "sessionadapter: login refused: its OP session was already logged out"
	logs := &levelLog{msg: "bclogout: login refused"}
	a := newApp(t, bclogout.Config{Logger: slog.New(logs)})
	if code := a.logout(t, "alice", "sid-a"); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	a.do(t, http.MethodGet, "/callback?sub=alice&sid=sid-a", nil)
	def.mu.Lock()
	defer def.mu.Unlock()
	if len(def.levels) != 0 {
		t.Errorf("the refused login was logged to slog.Default at %v, not to Config.Logger", def.levels)
	}
}
