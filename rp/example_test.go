package rp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// exampleOP stands in for a real OP: a signing key, its JWKS, and tokens.
func exampleOP() (*opkit.Key, jwks.Source) {
	key, err := opkit.GenerateKey("RS256", "op-key-1")
	if err != nil {
		panic(err)
	}
	src, err := jwks.ParseKeySet(opkit.JWKS(key.PublicJWK()))
	if err != nil {
		panic(err)
	}
	return key, src
}

func ExampleVerifier_Verify() {
	key, keys := exampleOP()
	v, err := rp.NewVerifier("https://op.example.com", "my-client", keys)
	if err != nil {
		panic(err)
	}
	tok := opkit.NewLogoutToken("https://op.example.com", "my-client", time.Now())
	tok.Claims["sid"] = "op-session-42"
	raw, _ := tok.Sign(key)

	ev, err := v.Verify(context.Background(), raw)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println(ev.Issuer, ev.SessionID)

	// A tampered token is rejected with its class's sentinel error; the
	// text names the rule.
	_, err = v.Verify(context.Background(), opkit.Tamper(raw))
	fmt.Println(errors.Is(err, rp.ErrSignature))
	// Output:
	// https://op.example.com op-session-42
	// true
}

func ExampleHandler() {
	key, keys := exampleOP()
	v, err := rp.NewVerifier("https://op.example.com", "my-client", keys)
	if err != nil {
		panic(err)
	}
	ender := enderFunc(func(_ context.Context, l sessionadapter.Logout) (int, error) {
		fmt.Println("ending sessions of", l.Issuer, l.SessionID)
		return 1, nil
	})
	h, err := rp.NewHandler(v, ender, rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	// In an application, the server serves h.Wrap(app): the OP's POST to
	// /backchannel-logout (WithPath) ahead of the app's session loading
	// and CSRF checks.

	tok := opkit.NewLogoutToken("https://op.example.com", "my-client", time.Now())
	tok.Claims["sid"] = "op-session-42"
	raw, _ := tok.Sign(key)
	for range 2 { // the second delivery is a replay
		form := url.Values{"logout_token": {raw}}.Encode()
		r := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String())))
	}
	// Output:
	// ending sessions of https://op.example.com op-session-42
	// 200
	// 400 {"error":"invalid_request","error_description":"logout token already used"}
}

func ExampleJoin() {
	keyA, keysA := exampleOP()
	_, keysB := exampleOP()
	a, _ := rp.NewVerifier("https://a.example.com", "my-client", keysA)
	b, _ := rp.NewVerifier("https://b.example.com", "my-client", keysB)
	m, err := rp.Join(a, b)
	if err != nil {
		panic(err)
	}
	// A token from A is validated with A's keys; A's key signing a token
	// that claims to be B fails B's signature check.
	okTok, _ := opkit.NewLogoutToken("https://a.example.com", "my-client", time.Now()).Sign(keyA)
	forged, _ := opkit.NewLogoutToken("https://b.example.com", "my-client", time.Now()).Sign(keyA)
	ev, _ := m.Verify(context.Background(), okTok)
	_, err = m.Verify(context.Background(), forged)
	fmt.Println(ev.Issuer, errors.Is(err, rp.ErrSignature))
	// Output: https://a.example.com true
}

// A session store that is down when the OP delivers the logout: the OP is
// told to retry (most never do), and the handler retries by itself.
func ExampleWithRetry() {
	key, keys := exampleOP()
	v, err := rp.NewVerifier("https://op.example.com", "my-client", keys)
	if err != nil {
		panic(err)
	}
	var storeDown atomic.Bool
	storeDown.Store(true)
	ender := enderFunc(func(_ context.Context, l sessionadapter.Logout) (int, error) {
		if storeDown.Load() {
			return 0, errors.New("store down")
		}
		fmt.Println("ending sessions of", l.Issuer, l.SessionID)
		return 1, nil
	})
	h, err := rp.NewHandler(v, ender, rp.WithRetry(0), rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}

	tok := opkit.NewLogoutToken("https://op.example.com", "my-client", time.Now())
	tok.Claims["sid"] = "op-session-42"
	raw, _ := tok.Sign(key)
	form := url.Values{"logout_token": {raw}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	storeDown.Store(false)
	// At shutdown, Close retries what is pending at once (in a running
	// program the queue retries by itself within a minute).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(h.Close(ctx))
	// Output:
	// 400 {"error":"temporarily_unavailable","error_description":"logout temporarily failed, retry"}
	// ending sessions of https://op.example.com op-session-42
	// <nil>
}
