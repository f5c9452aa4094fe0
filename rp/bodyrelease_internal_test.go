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
	h, err := NewHandler(v, enderFunc(func(context.Context, sessionadapter.Logout) (int, error) { return 0, nil }),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}

	var form weak.Pointer[byte]
	watch := func(f string) { form = weak.Make(unsafe.StringData(f)) }
	formHook.Store(&watch)
	defer formHook.Store(nil)

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

// enderFunc adapts a function to sessionadapter.Ender.
type enderFunc func(ctx context.Context, l sessionadapter.Logout) (int, error)

func (f enderFunc) EndSessions(ctx context.Context, l sessionadapter.Logout) (int, error) {
	return f(ctx, l)
}
