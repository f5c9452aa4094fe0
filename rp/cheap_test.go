package rp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// countingSource counts key look-ups: a token that can never verify must
// be rejected before any.
type countingSource struct {
	staticSource
	calls atomic.Int32
}

func (c *countingSource) Keys(ctx context.Context, kid string) (*jwks.KeySet, error) {
	c.calls.Add(1)
	return c.staticSource.Keys(ctx, kid)
}

func TestCheapRejectionsFetchNoKeys(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{name: "malformed", token: "a.b.c", wantErr: rp.ErrMalformed},
		{name: "alg none", token: mint(t, setHeader("alg", "none")), wantErr: errAlgorithm},
		{name: "alg not allowed", token: mint(t, both(setHeader("alg", "ES512"), func(tk *tok) { tk.alg = "RS256" })), wantErr: errAlgorithm},
		{name: "HS256 without secret", token: mint(t, both(setHeader("alg", "HS256"), func(tk *tok) { tk.key = []byte("k") })), wantErr: errAlgorithm},
		{name: "jku", token: mint(t, setHeader("jku", "https://evil")), wantErr: errForbiddenHeader},
		{name: "typ", token: mint(t, setHeader("typ", "at+jwt")), wantErr: errType},
		{name: "wrong issuer", token: mint(t, setClaim("iss", "https://evil")), wantErr: rp.ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingSource{staticSource: staticSource{set: defaultSet(t)}}
			v := newVerifier(t, src)
			if _, err := v.Verify(context.Background(), tt.token); !isErr(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if n := src.calls.Load(); n != 0 {
				t.Errorf("key source called %d times", n)
			}
		})
	}
}

func TestHandlerNeverLogsToken(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := newHandlerEnv(t, nil, rp.WithLogger(logger))
	good, bad := mint(t, nil), mint(t, setClaim("nonce", "x"))
	post(env.h, formBody(good))
	post(env.h, formBody(good))
	post(env.h, formBody(bad))
	out := buf.String()
	for _, tok := range []string{good, bad} {
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 16 && strings.Contains(out, part) {
				t.Fatalf("log contains a token segment: %s", out)
			}
		}
	}
	for _, want := range []string{"reason=replay", "reason=claims", "nonce present", "logout accepted"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestHandlerLogoutTimeout(t *testing.T) {
	var deadline time.Time
	ender := enderFunc(func(ctx context.Context, _ sessionadapter.Logout) (int, error) {
		deadline, _ = ctx.Deadline()
		return 0, nil
	})
	h, err := rp.NewHandler(newVerifier(t, nil), ender, rp.WithReplayCache(memoryCache(t)),
		rp.WithLogger(quietLogger()), rp.WithLogoutTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, post(h, formBody(mint(t, nil))), http.StatusOK, "")
	if deadline.IsZero() {
		t.Error("EndSessions ran without the logout timeout's deadline")
	}
}
