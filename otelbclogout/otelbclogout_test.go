package otelbclogout_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/testsessions"
	"github.com/bclogout/bclogout/otelbclogout"
	"github.com/bclogout/bclogout/sessionadapter"
)

// flakyRevocations fail every Revoke while down, as a Redis briefly
// unavailable does.
type flakyRevocations struct {
	sessionadapter.Revocations
	down atomic.Bool
}

func (f *flakyRevocations) Revoke(ctx context.Context, l sessionadapter.Logout, keepFor time.Duration) error {
	if f.down.Load() {
		return errors.New("revocations unavailable")
	}
	return f.Revocations.Revoke(ctx, l, keepFor)
}

// tracedApp is an RP wired to the hooks, tracing into an in-memory
// exporter.
type tracedApp struct {
	logout *bclogout.RP
	served http.Handler // logout.Endpoints, as the server serves it
	op     *opkit.OP
	revs   *flakyRevocations
	tp     *sdktrace.TracerProvider
	spans  *tracetest.InMemoryExporter
}

func newTracedApp(t *testing.T) *tracedApp {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mem, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	a := &tracedApp{op: opkit.New(t), revs: &flakyRevocations{Revocations: mem}, tp: tp, spans: spans}
	h := otelbclogout.New(tp)
	a.logout, err = bclogout.New(t.Context(), bclogout.Config{
		Issuer: a.op.Issuer(), ClientID: "app", Revocations: a.revs,
		Sessions: testsessions.New(),
		OnLogout: h.OnLogout, OnReject: h.OnReject, Metrics: h,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.logout.Close(context.Background()) })
	a.served = a.logout.Endpoints(nil)
	return a
}

// login signs alice in (sub "alice", sid "sid-a") through Login.
func (a *tracedApp) login(t *testing.T) {
	t.Helper()
	now := time.Now().Add(-time.Second)
	tok := &opkit.Token{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{
		"iss": a.op.Issuer(), "sub": "alice", "sid": "sid-a", "aud": "app", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}}
	raw, err := tok.Sign(a.op.Key())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.logout.Login(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/callback", nil), raw); err != nil {
		t.Fatal(err)
	}
}

// post sends the endpoint a logout token in ctx and returns the status.
func (a *tracedApp) post(ctx context.Context, method, token string) int {
	r := httptest.NewRequestWithContext(ctx, method, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	a.served.ServeHTTP(w, r)
	return w.Code
}

func (a *tracedApp) token(t *testing.T) string {
	t.Helper()
	tok, err := a.op.SignLogoutToken("app", "alice", "sid-a")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// named returns the exported spans called name.
func (a *tracedApp) named(name string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range a.spans.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

// noRawIdentifiers fails if any attribute of any span holds one of raw.
func noRawIdentifiers(t *testing.T, spans tracetest.SpanStubs, raw ...string) {
	t.Helper()
	for _, s := range spans {
		for _, kv := range s.Attributes {
			v := kv.Value.Emit()
			for _, r := range raw {
				if strings.Contains(v, r) {
					t.Errorf("span %s attribute %s = %q holds %q", s.Name, kv.Key, v, r)
				}
			}
		}
		if strings.Contains(s.Status.Description, "alice") || strings.Contains(s.Status.Description, "sid-a") {
			t.Errorf("span %s status %q holds a raw identifier", s.Name, s.Status.Description)
		}
	}
}

// A logout through the front door makes one span, under the request's,
// with the door, the issuer, the outcome, the sessions it ended and the
// hashes of sub and sid.
func TestLogoutMakesOneSpan(t *testing.T) {
	a := newTracedApp(t)
	a.login(t)
	ctx, parent := a.tp.Tracer("test").Start(t.Context(), "POST /backchannel-logout")
	tok := a.token(t)
	if code := a.post(ctx, http.MethodPost, tok); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	parent.End()

	got := a.named("bclogout.logout")
	if len(got) != 1 {
		t.Fatalf("%d logout spans, want 1 (all: %v)", len(got), a.spans.GetSpans())
	}
	s := got[0]
	if s.Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("parent = %v, want the request's span %v", s.Parent.SpanID(), parent.SpanContext().SpanID())
	}
	want := map[attribute.Key]attribute.Value{
		"bclogout.door":           attribute.StringValue("backchannel"),
		"bclogout.issuer":         attribute.StringValue(a.op.Issuer()),
		"bclogout.outcome":        attribute.StringValue("accepted"),
		"bclogout.sessions_ended": attribute.IntValue(1),
		"bclogout.subject_hash":   attribute.StringValue(sha("alice")),
		"bclogout.sid_hash":       attribute.StringValue(sha("sid-a")),
	}
	if got := attrs(s); len(got) != len(want) {
		t.Errorf("attributes = %v, want %v", got, want)
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k].Emit(), v.Emit())
			}
		}
	}
	if n := len(a.named("bclogout.reject")) + len(a.named("bclogout.retry")); n != 0 {
		t.Errorf("%d other bclogout spans, want 0", n)
	}
	noRawIdentifiers(t, a.spans.GetSpans(), "alice", "sid-a", tok)
}

// Each refused request makes one rejection span, status Error, with its
// class, and no raw token or identifier.
func TestRejectionMakesASpanWithItsClass(t *testing.T) {
	other := opkit.New(t) // a key the OP never published
	tests := []struct {
		name   string
		method string
		token  func(t *testing.T, a *tracedApp) string
		want   string
	}{
		{name: "forged", method: http.MethodPost, want: "signature", token: func(t *testing.T, a *tracedApp) string {
			tok := a.op.NewToken("app")
			tok.Claims["sub"], tok.Claims["sid"] = "alice", "sid-a"
			raw, err := tok.Sign(other.Key())
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{name: "another issuer", method: http.MethodPost, want: "issuer", token: func(t *testing.T, a *tracedApp) string {
			raw, err := other.SignLogoutToken("app", "alice", "sid-a")
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{name: "not a token", method: http.MethodPost, want: "malformed", token: func(*testing.T, *tracedApp) string { return "alice.sid-a" }},
		{name: "GET", method: http.MethodGet, want: "request", token: func(t *testing.T, a *tracedApp) string { return a.token(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTracedApp(t)
			tok := tt.token(t, a)
			if code := a.post(t.Context(), tt.method, tok); code == http.StatusOK {
				t.Fatal("the request was accepted")
			}
			got := a.named("bclogout.reject")
			if len(got) != 1 {
				t.Fatalf("%d rejection spans, want 1 (all: %v)", len(got), a.spans.GetSpans())
			}
			s := got[0]
			at := attrs(s)
			if at["bclogout.outcome"].AsString() != tt.want || at["bclogout.door"].AsString() != "backchannel" {
				t.Errorf("attributes = %v, want outcome %q door backchannel", at, tt.want)
			}
			if s.Status.Code != codes.Error || s.Status.Description != tt.want {
				t.Errorf("status = %v, want Error %q", s.Status, tt.want)
			}
			if n := len(a.named("bclogout.logout")); n != 0 {
				t.Errorf("%d logout spans, want 0", n)
			}
			noRawIdentifiers(t, a.spans.GetSpans(), "alice", "sid-a", tok)
		})
	}
}

// A logout a store failed is a "temporary" rejection and a "queued" retry;
// Close retries it once the store is back, a "retried" retry span and the
// logout's own span.
func TestFailedLogoutTracesItsRetries(t *testing.T) {
	a := newTracedApp(t)
	a.login(t)
	a.revs.down.Store(true)
	if code := a.post(t.Context(), http.MethodPost, a.token(t)); code == http.StatusOK {
		t.Fatal("a logout the store failed was accepted")
	}
	if got := a.named("bclogout.reject"); len(got) != 1 || attrs(got[0])["bclogout.outcome"].AsString() != "temporary" {
		t.Errorf("rejection spans = %v, want one temporary", got)
	}
	queued := a.named("bclogout.retry")
	if len(queued) != 1 {
		t.Fatalf("%d retry spans, want 1 (all: %v)", len(queued), a.spans.GetSpans())
	}
	if at := attrs(queued[0]); at["bclogout.outcome"].AsString() != "queued" || at["bclogout.issuer"].AsString() != a.op.Issuer() || at["bclogout.door"].AsString() != "backchannel" {
		t.Errorf("retry span attributes = %v, want queued, the issuer, backchannel", at)
	}
	if queued[0].Parent.IsValid() {
		t.Error("a retry span has a parent; the queue reports without a context")
	}

	a.revs.down.Store(false)
	if err := a.logout.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	retries := a.named("bclogout.retry")
	if len(retries) != 2 || attrs(retries[1])["bclogout.outcome"].AsString() != "retried" || attrs(retries[1])["bclogout.sessions_ended"].AsInt64() != 1 {
		t.Errorf("retry spans = %v, want queued then retried with 1 session ended", retries)
	}
	if n := len(a.named("bclogout.logout")); n != 1 {
		t.Errorf("%d logout spans after the retry, want 1", n)
	}
	noRawIdentifiers(t, a.spans.GetSpans(), "alice", "sid-a")
}

func TestObserve(t *testing.T) {
	tests := []struct {
		outcome   string
		wantSpan  bool
		wantError bool
	}{
		{outcome: "queued", wantSpan: true},
		{outcome: "retried", wantSpan: true},
		{outcome: "abandoned_expired", wantSpan: true, wantError: true},
		{outcome: "abandoned_closed", wantSpan: true, wantError: true},
		{outcome: "abandoned_full", wantSpan: true, wantError: true},
		{outcome: "accepted"},  // OnLogout's span
		{outcome: "failed"},    // OnReject's span
		{outcome: "signature"}, // OnReject's span
	}
	for _, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			spans := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
			otelbclogout.New(tp).Observe("backchannel", "https://op.example", tt.outcome, 0, 0)
			got := spans.GetSpans()
			if (len(got) == 1) != tt.wantSpan || len(got) > 1 {
				t.Fatalf("%d spans, want span %v", len(got), tt.wantSpan)
			}
			if tt.wantSpan && (got[0].Status.Code == codes.Error) != tt.wantError {
				t.Errorf("status = %v, want error %v", got[0].Status, tt.wantError)
			}
		})
	}
}
