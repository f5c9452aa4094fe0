package opkit

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestExpiredCodesSwept checks that codes nobody redeems do not pile up:
// issuing and redeeming each forget a bounded batch of expired codes.
func TestExpiredCodesSwept(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	op, err := newOP([]Option{WithClock(func() time.Time { return now }), WithIssuer("https://op.example")})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	const redirect = "https://rp.example/callback"
	if err := op.RegisterClient(Client{ID: "rp", RedirectURIs: []string{redirect}}); err != nil {
		t.Fatal(err)
	}
	op.mu.Lock()
	s := op.newSessionLocked("alice")
	op.mu.Unlock()
	ar := authRequest{ClientID: "rp", RedirectURI: redirect, ResponseType: "code"}
	issue := func() string {
		w := httptest.NewRecorder()
		op.issueCode(w, httptest.NewRequest(http.MethodGet, "/authorize", nil), ar, s)
		u, err := url.Parse(w.Header().Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("code")
	}
	redeem := func(code string) int {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {"rp"}}
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		op.routes().ServeHTTP(w, r)
		return w.Code
	}
	pending := func() (codes, order int) {
		op.mu.Lock()
		defer op.mu.Unlock()
		return len(op.codes), len(op.codeOrder)
	}

	const abandoned = sweepBatch + 5
	for range abandoned {
		issue()
	}
	now = now.Add(codeLifetime)
	live := issue()
	if c, o := pending(); c != 6 || o != 6 {
		t.Fatalf("after one issue past expiry: %d codes, %d queued; want 6, 6 (one batch of %d swept)", c, o, sweepBatch)
	}
	if got := redeem("not-a-code"); got != http.StatusBadRequest {
		t.Fatalf("unknown code: status %d, want 400", got)
	}
	if c, o := pending(); c != 1 || o != 1 {
		t.Fatalf("after a redemption: %d codes, %d queued; want the live code only", c, o)
	}
	if got := redeem(live); got != http.StatusOK {
		t.Fatalf("live code: status %d, want 200", got)
	}
	if c, _ := pending(); c != 0 {
		t.Fatalf("after redeeming the live code: %d codes, want 0", c)
	}

	expired := issue()
	now = now.Add(codeLifetime)
	if got := redeem(expired); got != http.StatusBadRequest {
		t.Fatalf("expired code: status %d, want 400", got)
	}
	if c, o := pending(); c != 0 || o != 0 {
		t.Fatalf("at the end: %d codes, %d queued; want 0, 0", c, o)
	}
}

// TestExpiredAccessTokensSwept checks the same for access tokens: each one
// issued, and each userinfo call, forgets a batch of expired ones.
func TestExpiredAccessTokensSwept(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	op, err := newOP([]Option{WithClock(func() time.Time { return now }), WithIssuer("https://op.example")})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	pending := func() (tokens, order int) {
		op.mu.Lock()
		defer op.mu.Unlock()
		return len(op.accessTokens), len(op.tokenOrder)
	}
	op.mu.Lock()
	for range sweepBatch + 5 {
		op.issueAccessTokenLocked("sid", now)
	}
	now = now.Add(idTokenLifetime)
	op.issueAccessTokenLocked("sid", now)
	op.mu.Unlock()
	if tk, o := pending(); tk != 6 || o != 6 {
		t.Fatalf("after one issue past expiry: %d tokens, %d queued; want 6, 6", tk, o)
	}
	w := httptest.NewRecorder()
	op.routes().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/userinfo", nil))
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("userinfo without a token: %d", w.Code)
	}
	if tk, o := pending(); tk != 1 || o != 1 {
		t.Fatalf("after a userinfo call: %d tokens, %d queued; want 1, 1", tk, o)
	}
}
