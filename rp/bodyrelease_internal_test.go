package rp

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/sessionadapter"
)

// blockingKeys is a key source that blocks every caller, as a kid-miss
// refresh of a slow JWKS endpoint does, until released.
type blockingKeys struct{ entered, release chan struct{} }

func (k *blockingKeys) Keys(ctx context.Context, _ string) (*jwks.KeySet, error) {
	k.entered <- struct{}{}
	<-k.release
	return nil, errors.New("released")
}

// A request waiting for keys holds its token, not its body: the body (up to
// the 64 KiB cap, most of it other parameters) is garbage as soon as the
// token is read, so a flood of kid-miss requests costs their tokens' size,
// not their bodies'.
func TestWaitingRequestReleasesItsBody(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	token := b64([]byte(`{"alg":"RS256","kid":"new-key"}`)) + "." +
		b64([]byte(`{"iss":"https://op.example","aud":"client"}`)) + "." + b64([]byte("sig"))
	body := url.Values{"logout_token": {token}, "pad": {strings.Repeat("a", 60<<10)}}.Encode()

	keys := &blockingKeys{entered: make(chan struct{}), release: make(chan struct{})}
	h, form := watchedHandler(t, keys)

	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, r)
	}()
	<-keys.entered // the verification now waits for keys, holding its token
	runtime.GC()
	runtime.GC()
	released := form.Value() == nil
	close(keys.release)
	<-done
	if !released {
		t.Error("the request body is still reachable while its verification waits for keys")
	}
	if w.Code != http.StatusBadRequest {
		t.Errorf("status = %d, want 400 once the keys failed", w.Code)
	}
}

// watchedHandler is a handler for https://op.example's logouts to
// "client", verified with keys, that ends nothing; form points weakly at
// the bytes of the next body it reads, to tell when they are garbage.
func watchedHandler(t *testing.T, keys jwks.Source) (h *Handler, form *weak.Pointer[byte]) {
	t.Helper()
	o, err := buildOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := newTenant("https://op.example", "client", keys, o)
	if err != nil {
		t.Fatal(err)
	}
	v, err := join([]*tenant{tn})
	if err != nil {
		t.Fatal(err)
	}
	h, err = NewHandler(v, enderFunc(func(context.Context, sessionadapter.Logout) (int, error) { return 0, nil }),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	form = new(weak.Pointer[byte])
	watch := func(f string) { *form = weak.Make(unsafe.StringData(f)) }
	formHook.Store(&watch)
	t.Cleanup(func() { formHook.Store(nil) })
	return h, form
}

// enderFunc adapts a function to sessionadapter.Ender.
type enderFunc func(ctx context.Context, l sessionadapter.Logout) (int, error)

func (f enderFunc) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	return f(ctx, l)
}

// An answered request keeps nothing of its body, even when the token it
// carried is all of it and shares the body's bytes: what the package
// remembers of the last header decoded holds a header of its own, so a
// body (up to the 64 KiB cap) is not kept alive until some other header
// arrives.
func TestAnsweredRequestReleasesItsBody(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	// A header this test alone sends, so that it is decoded and
	// remembered; the token fails on its keys, after the header was
	// judged.
	token := b64([]byte(`{"alg":"RS256","kid":"body-release-key","typ":"logout+jwt"}`)) + "." +
		b64([]byte(`{"iss":"https://op.example","aud":"client","pad":"`+strings.Repeat("a", 30<<10)+`"}`)) + "." + b64([]byte("sig"))
	body := "logout_token=" + token

	h, form := watchedHandler(t, emptyKeys{})

	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", w.Code)
	}
	if e := lastHeader.Load(); e == nil || !strings.HasPrefix(token, e.seg+".") {
		t.Fatal("the token's header was not the last one decoded")
	}
	r, body, token = nil, "", ""
	runtime.GC()
	runtime.GC()
	if form.Value() != nil {
		t.Error("the request body is still reachable after its request was answered")
	}
}

// emptyKeys is a key source with no keys.
type emptyKeys struct{}

func (emptyKeys) Keys(context.Context, string) (*jwks.KeySet, error) {
	return nil, errors.New("no keys")
}

// ownToken shares the body's bytes only where the token is at least half
// of the body's buffer, its capacity included: a chunked body read by
// io.ReadAll can have room well past its length.
func TestOwnTokenSharesOnlyMostOfTheBuffer(t *testing.T) {
	tests := []struct {
		name         string
		tokenLen     int
		bodyLen, cap int
		wantShared   bool
	}{
		{name: "an OP's body", tokenLen: 1000, bodyLen: 1013, cap: 1014, wantShared: true},
		{name: "other parameters", tokenLen: 1000, bodyLen: 61000, cap: 61001},
		{name: "most of the body, little of its buffer", tokenLen: 1000, bodyLen: 1013, cap: 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := make([]byte, tt.bodyLen, tt.cap)
			token := unsafe.String(&body[13], tt.tokenLen)
			got := ownToken(token, body)
			if got != token {
				t.Fatalf("ownToken changed the token")
			}
			if shared := unsafe.StringData(got) == &body[13]; shared != tt.wantShared {
				t.Errorf("shared = %v, want %v", shared, tt.wantShared)
			}
		})
	}
}
