package bclogout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/sessionadapter"
)

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

// TestReviewFrontChannelSIDUnbounded: the front-channel endpoint takes
// no credential (iss is public), and stores the sid of every request it
// accepts as a revocation kept for the session lifetime (30 days by
// default): in every replica's memory and, with redisadapter, verbatim
// in Redis three times (hash field, expiry index, stream). The sid's size
// is bounded by nothing but the server's header limit (1 MB in
// net/http), so one anonymous GET stores a megabyte of attacker data for
// a month. An OP's sid is an identifier: a UUID, a hash.
func TestReviewFrontChannelSIDUnbounded(t *testing.T) {
	a, revs := newFrontChannelApp(t)
	sid := strings.Repeat("x", 64<<10)
	w := httptest.NewRecorder()
	a.FrontChannel().ServeHTTP(w, httptest.NewRequest(http.MethodGet,
		"/frontchannel-logout?"+url.Values{"iss": {a.op.Issuer()}, "sid": {sid}}.Encode(), nil))
	if len(revs.revoked) != 0 {
		t.Fatalf("an anonymous front-channel request with a %d-byte sid was stored as a revocation kept %v (answer %d)",
			len(revs.revoked[0].SessionID), revs.keep[0], w.Code)
	}
}
