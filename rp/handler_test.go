package rp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/replay"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// recorder is an Ender that remembers its calls and can be told to fail.
type recorder struct {
	mu    sync.Mutex
	calls []sessionadapter.Logout
	err   error
	panic bool
	n     int
}

func (r *recorder) EndSessions(_ context.Context, l sessionadapter.Logout) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, l)
	if r.panic {
		panic("store exploded")
	}
	if r.err != nil {
		return 0, r.err
	}
	return r.n, nil
}

type logRecords struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// attr returns the value of the first record's attribute key at level,
// and whether such a record exists.
func (l *logRecords) attr(level slog.Level, key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Level != level {
			continue
		}
		var v string
		found := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v, found = a.Value.String(), true
				return false
			}
			return true
		})
		if found {
			return v, true
		}
	}
	return "", false
}

// countingMetrics records what the Handler reported.
type countingMetrics struct {
	mu       sync.Mutex
	accepted []int
	rejected []string
	issuers  []string
	failed   int
	doors    []string // the door of every observation, in order
	// The retry queue's reports.
	queued    int
	retried   []int
	abandoned []string
}

// observe is the function rp.WithMetrics takes.
func (m *countingMetrics) observe(door, issuer, outcome string, n int, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doors = append(m.doors, door+":"+outcome)
	switch outcome {
	case "accepted":
		m.accepted = append(m.accepted, n)
	case "failed":
		m.failed++
	case "queued":
		m.queued++
	case "retried":
		m.retried = append(m.retried, n)
	case rp.AbandonFull, rp.AbandonExpired, rp.AbandonClosed:
		m.abandoned = append(m.abandoned, outcome)
	default:
		m.rejected = append(m.rejected, outcome)
		m.issuers = append(m.issuers, issuer)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func memoryCache(testing.TB) replay.Cache { return clockCache(clock) }

// clockCache is a replay.Cache on a test clock: tokens here are dated at
// testNow, which replay.NewMemory's wall clock has long passed.
func clockCache(now func() time.Time) replay.Cache {
	return &mapCache{now: now, until: map[[2]string]time.Time{}}
}

type mapCache struct {
	mu    sync.Mutex
	now   func() time.Time
	until map[[2]string]time.Time
}

func (c *mapCache) Seen(_ context.Context, iss, jti string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.until[[2]string{iss, jti}]
	return ok && u.After(c.now()), nil
}

func (c *mapCache) Record(_ context.Context, iss, jti string, until time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until.After(c.now()) {
		c.until[[2]string{iss, jti}] = until
	}
	return nil
}

type handlerEnv struct {
	h        *rp.Handler
	ender    *recorder
	metrics  *countingMetrics
	rejected []error
	logouts  []*rp.LogoutEvent
}

func newHandlerEnv(t testing.TB, v *rp.Verifier, opts ...rp.HandlerOption) *handlerEnv {
	t.Helper()
	if v == nil {
		v = newVerifier(t, nil)
	}
	env := &handlerEnv{ender: &recorder{n: 1}, metrics: &countingMetrics{}}
	opts = append([]rp.HandlerOption{
		rp.WithReplayCache(memoryCache(t)),
		rp.WithLogger(quietLogger()),
		rp.WithMetrics(env.metrics.observe),
		rp.WithOnReject(func(_ context.Context, _ string, _ *http.Request, err error) {
			env.rejected = append(env.rejected, err)
		}),
		rp.WithOnLogout(func(_ context.Context, e *rp.LogoutEvent, _ int) { env.logouts = append(env.logouts, e) }),
	}, opts...)
	h, err := rp.NewHandler(v, env.ender, opts...)
	if err != nil {
		t.Fatal(err)
	}
	env.h = h
	return env
}

func formBody(token string) string { return url.Values{"logout_token": {token}}.Encode() }

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// checkAnswer asserts the status and the response contract of Back-Channel Logout 1.0 §2.8.
func checkAnswer(t testing.TB, w *httptest.ResponseRecorder, wantStatus int, wantError string) {
	t.Helper()
	if w.Code != wantStatus {
		t.Fatalf("status = %d, want %d (body %s)", w.Code, wantStatus, w.Body)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if wantStatus == http.StatusOK {
		if w.Body.Len() != 0 {
			t.Errorf("200 body = %q, want empty", w.Body)
		}
		return
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if body.Error != wantError || body.Description == "" {
		t.Errorf("error body = %+v, want error %q", body, wantError)
	}
}

func TestHandlerRequest(t *testing.T) {
	valid := mint(t, nil)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		target      string
		want        int
		wantErr     error
	}{
		{name: "valid", body: formBody(valid), want: http.StatusOK},
		{name: "valid with charset and other parameters", contentType: "application/x-www-form-urlencoded; charset=UTF-8", body: formBody(valid) + "&state=x", want: http.StatusOK},
		{name: "GET", method: http.MethodGet, want: http.StatusMethodNotAllowed, wantErr: errRequest},
		{name: "PUT", method: http.MethodPut, body: formBody(valid), want: http.StatusMethodNotAllowed, wantErr: errRequest},
		{name: "JSON content type", contentType: "application/json", body: `{"logout_token":"` + valid + `"}`, want: http.StatusBadRequest, wantErr: errRequest},
		{name: "multipart content type", contentType: "multipart/form-data; boundary=x", body: formBody(valid), want: http.StatusBadRequest, wantErr: errRequest},
		{name: "no content type", contentType: "-", body: formBody(valid), want: http.StatusBadRequest, wantErr: errRequest},
		{name: "oversized body", body: formBody(valid) + "&pad=" + strings.Repeat("a", 64<<10), want: http.StatusRequestEntityTooLarge, wantErr: errRequest},
		{name: "absent token", body: "state=x", want: http.StatusBadRequest, wantErr: errRequest},
		{name: "empty body", body: "", want: http.StatusBadRequest, wantErr: errRequest},
		{name: "duplicate token", body: formBody(valid) + "&" + formBody(valid), want: http.StatusBadRequest, wantErr: errRequest},
		{name: "token only in query string", target: "/?" + formBody(valid), body: "state=x", want: http.StatusBadRequest, wantErr: errRequest},
		{name: "bad form escape", body: "logout_token=%zz", want: http.StatusBadRequest, wantErr: errRequest},
		{name: "empty token", body: "logout_token=", want: http.StatusBadRequest, wantErr: rp.ErrMalformed},
		{name: "malformed escape in another parameter ignored", body: "state=50%&" + formBody(valid) + "&x%zz=1", want: http.StatusOK},
		{name: "semicolon in another parameter ignored", body: formBody(valid) + "&a=1;b=2", want: http.StatusOK},
		{name: "escaped token name counts", body: "logout%5Ftoken=" + valid, want: http.StatusOK},
		{name: "escaped duplicate token name", body: formBody(valid) + "&logout%5Ftoken=" + valid, want: http.StatusBadRequest, wantErr: errRequest},
		{name: "bad escape in second token", body: formBody(valid) + "&logout_token=%zz", want: http.StatusBadRequest, wantErr: errRequest},
		{name: "invalid token", body: formBody(mint(t, setClaim("nonce", "x"))), want: http.StatusBadRequest, wantErr: errNonce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHandlerEnv(t, nil)
			method, target, ct := tt.method, tt.target, tt.contentType
			if method == "" {
				method = http.MethodPost
			}
			if target == "" {
				target = "/"
			}
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r := httptest.NewRequest(method, target, strings.NewReader(tt.body))
			if ct != "-" {
				r.Header.Set("Content-Type", ct)
			}
			w := httptest.NewRecorder()
			env.h.ServeHTTP(w, r)
			wantCode := "invalid_request"
			checkAnswer(t, w, tt.want, wantCode)
			if tt.want == http.StatusMethodNotAllowed && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
			}
			if tt.wantErr == nil {
				if len(env.ender.calls) != 1 || len(env.logouts) != 1 || len(env.metrics.accepted) != 1 {
					t.Errorf("ender calls %d, OnLogout %d, accepted %d; want 1 each", len(env.ender.calls), len(env.logouts), len(env.metrics.accepted))
				}
				return
			}
			if len(env.rejected) != 1 || !isErr(env.rejected[0], tt.wantErr) {
				t.Fatalf("OnReject errors = %v, want %v", env.rejected, tt.wantErr)
			}
			if len(env.ender.calls) != 0 {
				t.Error("Ender called for a rejected request")
			}
			if got := env.metrics.rejected; len(got) != 1 || got[0] != rejection.Reason(tt.wantErr) {
				t.Errorf("metrics reasons = %v, want [%s]", got, rejection.Reason(tt.wantErr))
			}
		})
	}
}

// Wrap hands the endpoint exactly the requests for its path, whatever the
// method, and every other request to the app as it came: not cleaned, not
// redirected, its Pattern untouched.
func TestHandlerWrap(t *testing.T) {
	valid := mint(t, nil)
	tests := []struct {
		name, method, target string
		body                 string
		want                 int // the endpoint's answer, or 0 for the app's
	}{
		{"the OP's POST", http.MethodPost, "/backchannel-logout", formBody(valid), http.StatusOK},
		{"a GET of the path", http.MethodGet, "/backchannel-logout", "", http.StatusMethodNotAllowed},
		{"an extension method", "PURGE", "/backchannel-logout", "", http.StatusMethodNotAllowed},
		{"the path escaped", http.MethodPost, "/backchannel%2Dlogout", formBody(valid), http.StatusOK},
		{"absolute-form target", http.MethodPost, "http://app.example/backchannel-logout", formBody(valid), http.StatusOK},
		{"a subpath", http.MethodPost, "/backchannel-logout/x", formBody(valid), 0},
		{"a trailing slash", http.MethodPost, "/backchannel-logout/", formBody(valid), 0},
		{"another case", http.MethodPost, "/Backchannel-Logout", formBody(valid), 0},
		{"an unclean path", http.MethodGet, "//a/../b", "", 0},
		{"the app's page", http.MethodGet, "/", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHandlerEnv(t, nil)
			var got *http.Request
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				w.WriteHeader(http.StatusTeapot)
			})
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			env.h.Wrap(app).ServeHTTP(w, r)
			if tt.want == 0 {
				if w.Code != http.StatusTeapot || got != r || got.Pattern != "" || got.URL.Path != r.URL.Path {
					t.Errorf("the app got %v (answer %d), want the request as it came", got, w.Code)
				}
				return
			}
			if got != nil || w.Code != tt.want {
				t.Errorf("answer %d, app reached %v; want the endpoint's %d", w.Code, got != nil, tt.want)
			}
		})
	}
	w := httptest.NewRecorder()
	newHandlerEnv(t, nil).h.Wrap(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("nil next: %d, want 404", w.Code)
	}
	// WithPath moves the endpoint: the default path is then the app's.
	own := newHandlerEnv(t, nil, rp.WithPath("/oidc/backchannel")).h.Wrap(nil)
	for path, want := range map[string]int{"/oidc/backchannel": http.StatusMethodNotAllowed, "/backchannel-logout": http.StatusNotFound} {
		w := httptest.NewRecorder()
		own.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("WithPath(/oidc/backchannel), GET %s: %d, want %d", path, w.Code, want)
		}
	}
	// WithPath("") is the default, as bclogout.Config's "" is.
	w = httptest.NewRecorder()
	newHandlerEnv(t, nil, rp.WithPath("")).h.Wrap(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/backchannel-logout", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf(`WithPath(""), GET /backchannel-logout: %d, want the endpoint's 405`, w.Code)
	}
}

// TestHandlerOversizedNotRead checks that a body announced larger than the
// cap is refused without reading it.
func TestHandlerOversizedNotRead(t *testing.T) {
	env := newHandlerEnv(t, nil)
	body := &countingReader{r: strings.NewReader(strings.Repeat("a", rp.MaxBodyBytes+1))}
	r := httptest.NewRequest(http.MethodPost, "/", body)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.ContentLength = rp.MaxBodyBytes + 1
	w := httptest.NewRecorder()
	env.h.ServeHTTP(w, r)
	checkAnswer(t, w, http.StatusRequestEntityTooLarge, "invalid_request")
	if body.n != 0 {
		t.Errorf("read %d bytes of an oversized body", body.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestHandlerReplay(t *testing.T) {
	env := newHandlerEnv(t, nil)
	first := mint(t, nil)
	checkAnswer(t, post(env.h, formBody(first)), http.StatusOK, "")
	w := post(env.h, formBody(first))
	checkAnswer(t, w, http.StatusBadRequest, "invalid_request")
	if !strings.Contains(w.Body.String(), "already used") {
		t.Errorf("replay body = %s", w.Body)
	}
	if !isErr(env.rejected[0], rp.ErrReplay) {
		t.Errorf("replay error = %v", env.rejected[0])
	}
	// Many other tokens later the first one is still remembered.
	for i := range 500 {
		checkAnswer(t, post(env.h, formBody(mint(t, setClaim("jti", fmt.Sprintf("other-%d", i))))), http.StatusOK, "")
	}
	checkAnswer(t, post(env.h, formBody(first)), http.StatusBadRequest, "invalid_request")
	if got := env.metrics.rejected; len(got) != 2 || got[1] != "replay" {
		t.Errorf("metrics reasons = %q, want replay twice", got)
	}
	if len(env.ender.calls) != 501 {
		t.Errorf("ender calls = %d, want 501", len(env.ender.calls))
	}
}

func TestHandlerLogoutFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*recorder)
	}{
		{name: "store error", setup: func(r *recorder) { r.err = errors.New("redis down") }},
		{name: "store panic", setup: func(r *recorder) { r.panic = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHandlerEnv(t, nil)
			tt.setup(env.ender)
			token := mint(t, nil)
			checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "temporarily_unavailable")
			if !isErr(env.rejected[0], rp.ErrTemporary) || env.metrics.failed != 1 {
				t.Fatalf("rejected %v, LogoutFailed %d", env.rejected, env.metrics.failed)
			}
			// The jti was released: the OP's retry succeeds once the store is back.
			env.ender.err, env.ender.panic = nil, false
			checkAnswer(t, post(env.h, formBody(token)), http.StatusOK, "")
			checkAnswer(t, post(env.h, formBody(token)), http.StatusBadRequest, "invalid_request")
		})
	}
}

// recordFailsCache is a replay cache whose Record fails, as a Redis that
// went away after the sessions were ended would.
type recordFailsCache struct{ replay.Cache }

func (recordFailsCache) Record(context.Context, string, string, time.Time) error {
	return errors.New("connection reset")
}

// The sessions are ended when Record fails: the logout is done, so the OP
// hears 200 and OnLogout runs; the failure is logged as ours.
func TestHandlerRecordFails(t *testing.T) {
	logs := &logRecords{}
	env := newHandlerEnv(t, nil, rp.WithReplayCache(recordFailsCache{memoryCache(t)}), rp.WithLogger(slog.New(logs)))
	checkAnswer(t, post(env.h, formBody(mint(t, nil))), http.StatusOK, "")
	if len(env.logouts) != 1 || len(env.ender.calls) != 1 {
		t.Fatalf("OnLogout %d, ender calls %d: want 1 each", len(env.logouts), len(env.ender.calls))
	}
	if _, ok := logs.attr(slog.LevelError, "issuer"); !ok {
		t.Error("the failed Record was not logged at Error")
	}
}

// A panic in OnLogout or OnReject is recovered and logged at Error: the
// logout is not lost (the token is recorded, the OP hears 200) and the
// process lives on.
func TestHandlerHookPanics(t *testing.T) {
	logs := &logRecords{}
	cache := memoryCache(t)
	ender := &recorder{n: 1}
	h, err := rp.NewHandler(newVerifier(t, nil), ender, rp.WithReplayCache(cache), rp.WithLogger(slog.New(logs)),
		rp.WithOnLogout(func(context.Context, *rp.LogoutEvent, int) { panic("cascade broke") }),
		rp.WithOnReject(func(context.Context, string, *http.Request, error) { panic("hook broke") }))
	if err != nil {
		t.Fatal(err)
	}
	token := mint(t, nil)
	checkAnswer(t, post(h, formBody(token)), http.StatusOK, "")
	if len(ender.calls) != 1 {
		t.Fatalf("ender calls %d, want 1", len(ender.calls))
	}
	if seen, _ := cache.Seen(context.Background(), testIssuer, "jti-1"); !seen {
		t.Error("the logout whose OnLogout panicked was not recorded")
	}
	checkAnswer(t, post(h, formBody(token)), http.StatusBadRequest, "invalid_request")
	if p, ok := logs.attr(slog.LevelError, "panic"); !ok || p == "" {
		t.Error("the panics were not logged at Error")
	}
}

func TestHandlerNoSessionMatched(t *testing.T) {
	env := newHandlerEnv(t, nil)
	env.ender.n = 0
	checkAnswer(t, post(env.h, formBody(mint(t, nil))), http.StatusOK, "")
	if env.metrics.accepted[0] != 0 {
		t.Errorf("sessions ended = %d", env.metrics.accepted[0])
	}
}

func TestHandlerLogoutPassesEvent(t *testing.T) {
	env := newHandlerEnv(t, nil)
	checkAnswer(t, post(env.h, formBody(mint(t, setClaim("sub", nil)))), http.StatusOK, "")
	got := env.ender.calls[0]
	want := sessionadapter.Logout{Issuer: testIssuer, SessionID: "session-1", IssuedAt: testNow.Add(-10 * time.Second)}
	if got.Issuer != want.Issuer || got.Subject != "" || got.SessionID != want.SessionID || !got.IssuedAt.Equal(want.IssuedAt) {
		t.Errorf("EndSessions got %+v, want %+v", got, want)
	}
}

func TestHandlerMetricsIssuerLabel(t *testing.T) {
	env := newHandlerEnv(t, nil)
	post(env.h, formBody(mint(t, setClaim("iss", "https://attacker.example"))))
	post(env.h, formBody(mint(t, setClaim("nonce", "x"))))
	if got := env.metrics.issuers; len(got) != 2 || got[0] != "" || got[1] != testIssuer {
		t.Errorf("metric issuers = %q, want [\"\" %q]", got, testIssuer)
	}
}

func TestNewHandlerConfig(t *testing.T) {
	v := newVerifier(t, nil)
	tests := []struct {
		name    string
		v       *rp.Verifier
		ender   sessionadapter.Ender
		opts    []rp.HandlerOption
		wantErr bool
	}{
		{name: "defaults", v: v, ender: &recorder{}},
		{name: "no verifier", ender: &recorder{}, wantErr: true},
		{name: "no ender", v: v, wantErr: true},
		{name: "negative timeout", v: v, ender: &recorder{}, opts: []rp.HandlerOption{rp.WithLogoutTimeout(-1)}, wantErr: true},
		{name: "own path", v: v, ender: &recorder{}, opts: []rp.HandlerOption{rp.WithPath("/oidc/backchannel")}},
		// Wrap compares the path as written: a router's pattern would be
		// an endpoint no request reaches.
		{name: "path with a method", v: v, ender: &recorder{}, opts: []rp.HandlerOption{rp.WithPath("POST /backchannel-logout")}, wantErr: true},
		{name: "path with a wildcard", v: v, ender: &recorder{}, opts: []rp.HandlerOption{rp.WithPath("/logout/{sid}")}, wantErr: true},
		{name: "relative path", v: v, ender: &recorder{}, opts: []rp.HandlerOption{rp.WithPath("backchannel-logout")}, wantErr: true},
		{name: "subtree path", v: v, ender: &recorder{}, opts: []rp.HandlerOption{rp.WithPath("/logout/")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rp.NewHandler(tt.v, tt.ender, tt.opts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewHandler() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
