package bclogout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

func TestFrontChannel(t *testing.T) {
	a := newSignOutApp(t)
	iss := a.op.Issuer()
	tests := []struct {
		name        string
		method      string
		query       func(sid string) url.Values
		want        int
		wantRevoked bool
	}{
		{name: "iss and sid", method: http.MethodGet, query: func(sid string) url.Values { return url.Values{"iss": {iss}, "sid": {sid}} }, want: http.StatusOK, wantRevoked: true},
		{name: "missing sid", method: http.MethodGet, query: func(string) url.Values { return url.Values{"iss": {iss}} }, want: http.StatusBadRequest},
		{name: "empty sid", method: http.MethodGet, query: func(string) url.Values { return url.Values{"iss": {iss}, "sid": {""}} }, want: http.StatusBadRequest},
		{name: "iss of another OP", method: http.MethodGet, query: func(sid string) url.Values { return url.Values{"iss": {"https://other-op.example"}, "sid": {sid}} }, want: http.StatusBadRequest},
		{name: "iss with a trailing slash", method: http.MethodGet, query: func(sid string) url.Values { return url.Values{"iss": {iss + "/"}, "sid": {sid}} }, want: http.StatusBadRequest},
		// Microsoft Entra ID sends sid alone: the one issuer this RP serves.
		{name: "sid without iss (Entra)", method: http.MethodGet, query: func(sid string) url.Values { return url.Values{"sid": {sid}} }, want: http.StatusOK, wantRevoked: true},
		{name: "empty iss", method: http.MethodGet, query: func(sid string) url.Values { return url.Values{"iss": {""}, "sid": {sid}} }, want: http.StatusBadRequest},
		{name: "POST", method: http.MethodPost, query: func(sid string) url.Values { return url.Values{"iss": {iss}, "sid": {sid}} }, want: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sid := rand.Text()
			alice := a.signIn(t, browser(t, false), "alice", sid)
			bob := a.signIn(t, browser(t, false), "bob", rand.Text())
			resp, body := fetch(t, &http.Client{}, tt.method, a.srv.URL+"/frontchannel-logout?"+tt.query(sid).Encode())
			if resp.StatusCode != tt.want {
				t.Fatalf("%s: %s %q, want %d", tt.method, resp.Status, body, tt.want)
			}
			// Framed by the OP's origin and no one else, never cached.
			if got, want := resp.Header.Get("Content-Security-Policy"), "frame-ancestors "+iss; got != want {
				t.Errorf("Content-Security-Policy %q, want %q", got, want)
			}
			if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
				t.Errorf("X-Frame-Options %q forbids the OP's frame", xfo)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			a.sessions.writeBack(alice.Value, a.loginData("alice", sid))
			want := "signed in"
			if tt.wantRevoked {
				want = "anonymous"
			}
			if got := a.page(t, alice); got != want {
				t.Errorf("alice after the front-channel request: %q, want %q", got, want)
			}
			if got := a.page(t, bob); got != "signed in" {
				t.Errorf("bob: %q", got)
			}
		})
	}
}

// TestFrontChannelThroughOP: the OP's sign-out page frames the app's
// front-channel endpoint with iss and sid.
func TestFrontChannelThroughOP(t *testing.T) {
	a := newSignOutApp(t)
	sid, err := a.op.NewSession("alice", "app")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(a.op.Issuer()+"/end_session", url.Values{"sid": {sid}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	want := a.srv.URL + "/frontchannel-logout?" + url.Values{"iss": {a.op.Issuer()}, "sid": {sid}}.Encode()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<iframe class="frontchannel" src="`+strings.ReplaceAll(want, "&", "&amp;")+`"`) {
		t.Fatalf("end_session page: %s, want an iframe of %s in:\n%s", resp.Status, want, body)
	}
}

// countingRevocations records what each Revoke was asked to keep.
type countingRevocations struct {
	sessionadapter.Revocations
	mu      sync.Mutex
	revoked []sessionadapter.Logout
	keep    []time.Duration
}

func (c *countingRevocations) Revoke(ctx context.Context, l sessionadapter.Logout, keepFor time.Duration) error {
	c.mu.Lock()
	c.revoked = append(c.revoked, l)
	c.keep = append(c.keep, keepFor)
	c.mu.Unlock()
	return c.Revocations.Revoke(ctx, l, keepFor)
}

func newFrontChannelApp(t *testing.T) (*app, *countingRevocations) {
	t.Helper()
	mem, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	revs := &countingRevocations{Revocations: mem}
	return newApp(t, bclogout.Config{Revocations: revs}), revs
}

// Anyone can call the front-channel endpoint, and each sid it accepts is
// kept as a revocation for the session lifetime at every replica: a sid
// over 1 KiB is refused and stores nothing (an OP's sid is a UUID or a
// hash, not a payload).
func TestFrontChannelRefusesAnOversizedSID(t *testing.T) {
	a, revs := newFrontChannelApp(t)
	sid := strings.Repeat("x", 64<<10)
	w := httptest.NewRecorder()
	a.Endpoints(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet,
		"/frontchannel-logout?"+url.Values{"iss": {a.op.Issuer()}, "sid": {sid}}.Encode(), nil))
	if len(revs.revoked) != 0 {
		t.Fatalf("an anonymous front-channel request with a %d-byte sid was stored as a revocation kept %v (answer %d)",
			len(revs.revoked[0].SessionID), revs.keep[0], w.Code)
	}
}

// fcReplica is one app process: its own RP (default in-memory bindings)
// over session data and revocations that may be shared with others.
func fcReplica(t *testing.T, op *opkit.OP, s sessionadapter.Sessions, revs sessionadapter.Revocations) *bclogout.RP {
	t.Helper()
	bl, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: s, Revocations: revs, FrontChannelPath: "/frontchannel-logout"})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	return bl
}

func fcLogin(t *testing.T, bl *bclogout.RP, op *opkit.OP, sid string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", sid, time.Now().Add(-time.Second))); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return w.Result().Cookies()[0]
}

func fcFrame(bl *bclogout.RP, iss, sid string) int {
	w := httptest.NewRecorder()
	bl.Endpoints(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?"+url.Values{"iss": {iss}, "sid": {sid}}.Encode(), nil))
	return w.Code
}

func fcPage(bl *bclogout.RP, s *memSessions, c *http.Cookie) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.get(r, "login"); ok {
			io.WriteString(w, "signed in")
			return
		}
		io.WriteString(w, "anonymous")
	})).ServeHTTP(w, r)
	return w.Body.String()
}

// Two replicas share the session data and the revocations but keep their
// own in-memory bindings: a front-channel logout reaching the replica
// that did not bind the login still ends it at the one that did, since
// the revocation, not the binding, is what the guard enforces.
func TestFrontChannelEndsSessionsBoundAtAnotherReplica(t *testing.T) {
	op := opkit.New(t)
	s := newMemSessions()
	revs, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	a, b := fcReplica(t, op, s, revs), fcReplica(t, op, s, revs)
	c := fcLogin(t, a, op, "sid-a")
	if code := fcFrame(b, op.Issuer(), "sid-a"); code != http.StatusOK {
		t.Fatalf("front channel at B: %d", code)
	}
	if got := fcPage(a, s, c); got != "anonymous" {
		t.Fatalf("after a genuine front-channel logout answered 200 by replica B, replica A still serves the session: %q", got)
	}
}

// flakyDeleteSessions is a server-side session library whose store fails
// to delete (Redis or the database briefly unavailable).
type flakyDeleteSessions struct{ *memSessions }

func (flakyDeleteSessions) DeleteSession(context.Context, string) error {
	return errors.New("session store unavailable")
}

// A session store that cannot delete does not keep the session alive:
// the pipeline revokes first, so the guard ends the session, and the
// failed deletion is queued for retry (no OP retries a front-channel
// frame).
func TestFrontChannelDeleteFailureStillRevokes(t *testing.T) {
	op := opkit.New(t)
	s := flakyDeleteSessions{newMemSessions()}
	bl := fcReplica(t, op, s, nil)
	c := fcLogin(t, bl, op, "sid-a")
	code := fcFrame(bl, op.Issuer(), "sid-a")
	if got := fcPage(bl, s.memSessions, c); got != "anonymous" {
		t.Fatalf("front-channel logout answered %d (no retry will come), and the session is still served: %q", code, got)
	}
}

// frameDuringLogin delivers the OP's front-channel frame while a login
// callback of the same OP session is between Stash and Bind.
type frameDuringLogin struct {
	*memSessions
	frame func()
}

func (f frameDuringLogin) Stash(w http.ResponseWriter, r *http.Request, l sessionadapter.Binding) (sessionadapter.Binding, error) {
	b, err := f.memSessions.Stash(w, r, l)
	f.frame()
	return b, err
}

// A front-channel logout that arrives while a login callback of the same
// OP session is between Stash and Bind is not lost: the revocation is
// recorded before any binding is looked for, and Bind checks after it
// records, so Login fails with sessionadapter.ErrRevoked.
func TestFrontChannelDuringLoginRefusesTheLogin(t *testing.T) {
	op := opkit.New(t)
	s := &frameDuringLogin{memSessions: newMemSessions()}
	bl := fcReplica(t, op, s, nil)
	s.frame = func() { fcFrame(bl, op.Issuer(), "sid-a") }
	w := httptest.NewRecorder()
	err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second)))
	if !errors.Is(err, sessionadapter.ErrRevoked) {
		c := w.Result().Cookies()[0]
		t.Fatalf("Login = %v (want sessionadapter.ErrRevoked); the login raced a front-channel logout of its OP session and is %q", err, fcPage(bl, s.memSessions, c))
	}
}

// A front-channel request carries no iat: its revocation is dated by this
// RP's clock plus the OP clock skew, so a login the OP dated by a clock
// ahead of the RP's (30 s here, within the skew Login allows) is still
// ended, whatever the tolerance of the Revocations (none here), also when a
// request in flight writes its session back.
func TestFrontChannelEndsALoginDatedByAnOPClockAhead(t *testing.T) {
	op := opkit.New(t)
	s := newMemSessions()
	bl := fcReplica(t, op, s, &exactRevocations{at: map[[2]string]time.Time{}})
	w := httptest.NewRecorder()
	if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(30*time.Second))); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	saved := s.saved(c.Value)
	if code := fcFrame(bl, op.Issuer(), "sid-a"); code != http.StatusOK {
		t.Fatalf("front channel: %d", code)
	}
	s.writeBack(c.Value, saved)
	if got := fcPage(bl, s, c); got != "anonymous" {
		t.Fatalf("a login dated by an OP clock 30 s ahead survives its front-channel logout: %q", got)
	}
}

// A wider clock skew (rp.WithClockSkew, for an OP whose clock is off)
// does not let a login be dated beyond what a front-channel logout
// reaches: that logout has no iat and is dated by this RP's clock plus the
// one-minute OP clock skew, so a login dated further ahead is refused
// rather than signed in for good.
func TestFrontChannelEndsALoginWhateverTheClockSkew(t *testing.T) {
	op := opkit.New(t)
	s := newMemSessions()
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: s,
		Verify: []rp.Option{rp.WithClockSkew(10 * time.Minute)},
	})
	if err != nil {
		t.Fatal(err)
	}
	closeRP(t, bl)
	w := httptest.NewRecorder()
	if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(3*time.Minute))); err != nil {
		return // refused: nobody is signed in
	}
	c := w.Result().Cookies()[0]
	if code := fcFrame(bl, op.Issuer(), "sid-a"); code != http.StatusOK {
		t.Fatalf("front channel: %d", code)
	}
	if got := fcPage(bl, s, c); got != "anonymous" {
		t.Fatalf("a login dated by an OP clock 3 minutes ahead (WithClockSkew 10m) survives its front-channel logout: %q", got)
	}
}

// Login refuses an ID token the OP dated more than the clock skew ahead
// (Core 1.0 §3.1.3.7 step 10): logouts without an OP date, dated by this
// RP's clock plus that skew, could never end such a login.
func TestLoginRefusesAnIDTokenFromTheFuture(t *testing.T) {
	op := opkit.New(t)
	s := newMemSessions()
	bl := fcReplica(t, op, s, nil)
	w := httptest.NewRecorder()
	err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(5*time.Minute)))
	if !errors.Is(err, rp.ErrTime) {
		t.Fatalf("Login of an ID token issued 5 minutes ahead = %v, want rp.ErrTime", err)
	}
}

// Microsoft Entra ID's front-channel request names the sid alone: it ends
// exactly that OP session's sessions; the same sid with another iss ends
// nothing.
func TestFrontChannelEntraRequest(t *testing.T) {
	op := opkit.New(t)
	s := newMemSessions()
	bl := fcReplica(t, op, s, nil)
	a1, a2 := fcLogin(t, bl, op, "sid-entra"), fcLogin(t, bl, op, "sid-entra")
	other := fcLogin(t, bl, op, "sid-other")
	w := httptest.NewRecorder()
	bl.Endpoints(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?iss=https%3A%2F%2Flogin.microsoftonline.com%2Ftenant%2Fv2.0&sid=sid-other", nil))
	if w.Code != http.StatusBadRequest {
		t.Errorf("another iss: %d, want 400", w.Code)
	}
	w = httptest.NewRecorder()
	bl.Endpoints(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?sid=sid-entra", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("Entra's request: %d %s", w.Code, w.Body)
	}
	for name, c := range map[string]*http.Cookie{"first": a1, "second": a2} {
		if got := fcPage(bl, s, c); got != "anonymous" {
			t.Errorf("%s session of the sid: %q", name, got)
		}
	}
	if got := fcPage(bl, s, other); got != "signed in" {
		t.Errorf("another OP session: %q", got)
	}
}

// During a revocation-store outage, anonymous front-channel requests
// (anyone can send them) take at most a quarter of the retry queue every
// door shares, so a valid back-channel logout token that fails in the
// same outage is still retried (its OP, told 400, does not retry:
// Keycloak, node oidc-provider) and the user is signed out once the store
// is back.
func TestFrontChannelFloodLeavesRoomForLogoutTokens(t *testing.T) {
	op := opkit.New(t)
	revs := newFlakyRevocations(t)
	m := &doorMetrics{}
	s := newMemSessions()
	bl, err := bclogout.New(t.Context(), bclogout.Config{
		Issuer: op.Issuer(), ClientID: "app", Sessions: s, Revocations: revs, Metrics: m,
		Logger: slog.New(slog.DiscardHandler), FrontChannelPath: "/frontchannel-logout",
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := bl.Login(w, httptest.NewRequest(http.MethodGet, "/callback", nil), idToken(t, op, op.Issuer(), "alice", "sid-a", time.Now().Add(-time.Second))); err != nil {
		t.Fatal(err)
	}
	alice := w.Result().Cookies()[0]
	saved := s.saved(alice.Value)

	revs.down.Store(true)
	// The attacker: 10,000 anonymous front-channel requests, no token.
	fc := bl.Endpoints(nil)
	for i := 0; i < 10_000; i++ {
		w := httptest.NewRecorder()
		fc.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?sid="+rand.Text(), nil))
		if w.Code != http.StatusServiceUnavailable && w.Code != http.StatusOK {
			t.Fatalf("front-channel %d: %d", i, w.Code)
		}
	}
	// The OP's valid logout token for alice, during the same outage.
	if w := postLogoutToken(t, bl, op, "alice", "sid-a"); w.Code != http.StatusBadRequest {
		t.Fatalf("logout token with the store down: %d", w.Code)
	}
	revs.down.Store(false) // the store is back; the OP does not retry a 400

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bl.Close(ctx); err != nil { // every pending logout gets its last try
		t.Logf("Close: %v", err)
	}
	if n := m.count("backchannel:abandoned_full"); n != 0 {
		t.Errorf("the OP's valid logout was abandoned (queue full of anonymous front-channel requests): backchannel:abandoned_full = %d", n)
	}
	s.writeBack(alice.Value, saved)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(alice)
	w = httptest.NewRecorder()
	bl.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.get(r, "login"); ok {
			io.WriteString(w, "signed in")
		}
	})).ServeHTTP(w, r)
	if w.Body.String() == "signed in" {
		t.Errorf("alice is still signed in after the OP's logout: the logout was lost")
	}
}
