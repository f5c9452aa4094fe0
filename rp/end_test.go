package rp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

func doorRequest() *http.Request {
	return httptest.NewRequest(http.MethodGet, "/frontchannel-logout?iss=x&sid=y", nil)
}

// An event with no OP date (a front-channel logout carries no iat) is
// dated by the one clock rule for RP-clock instants: this RP's clock plus
// the OP clock skew, so that an OP clock up to a minute ahead, which dated
// the login, still finds it revoked.
func TestEndDatesAnEventWithoutOPDateAheadByTheSkew(t *testing.T) {
	env := newHandlerEnv(t, nil)
	before := time.Now()
	n, err := env.h.End(doorRequest(), &rp.LogoutEvent{Door: "frontchannel", Logout: sessionadapter.Logout{Issuer: testIssuer, SessionID: "sid-1"}})
	after := time.Now()
	if err != nil || n != 1 {
		t.Fatalf("End = %d, %v", n, err)
	}
	got := env.ender.calls[0].IssuedAt
	if got.Before(before.Add(time.Minute)) || got.After(after.Add(time.Minute)) {
		t.Errorf("revocation dated %v, want now + 1m (between %v and %v)", got, before.Add(time.Minute), after.Add(time.Minute))
	}
	if len(env.logouts) != 1 || env.logouts[0].Door != "frontchannel" || !env.logouts[0].IssuedAt.Equal(got) {
		t.Errorf("OnLogout saw %+v, want the front-channel event as dated", env.logouts)
	}
	if want := []string{"frontchannel:accepted"}; !slices.Equal(env.metrics.doors, want) {
		t.Errorf("metrics %v, want %v", env.metrics.doors, want)
	}
}

// An event that names no session, or no door, is refused and reported
// like any rejection.
func TestEndRefusesAnEventThatNamesNothing(t *testing.T) {
	env := newHandlerEnv(t, nil)
	for _, ev := range []*rp.LogoutEvent{
		nil,
		{Door: "signout", Logout: sessionadapter.Logout{Issuer: testIssuer}},
		{Logout: sessionadapter.Logout{Issuer: testIssuer, SessionID: "s"}},
		{Door: "signout", Logout: sessionadapter.Logout{SessionID: "s"}},
	} {
		if _, err := env.h.End(doorRequest(), ev); !errors.Is(err, rp.ErrClaims) {
			t.Errorf("End(%+v) = %v, want ErrClaims", ev, err)
		}
	}
	if len(env.ender.calls) != 0 || len(env.rejected) != 4 {
		t.Errorf("ender calls %d, OnReject %d; want 0 and 4", len(env.ender.calls), len(env.rejected))
	}
}

// A SET that ends no session (RISC's verification, CAEP's
// credential-change: the door acknowledges it and names nobody) goes
// through the pipeline to be accepted once, but it is no logout: OnLogout,
// whose callers revoke the named sessions' refresh tokens or pass the
// logout on, is not called for it, while a session-ending SET's logout is
// reported there as every door's is.
func TestEndOfAnAcknowledgedSETCallsNoOnLogout(t *testing.T) {
	const iss, aud = "https://accounts.google.com/", "123456789-abcedfgh.apps.googleusercontent.com"
	v, k := setVerifier(t, iss, aud)
	env := newHandlerEnv(t, nil)
	verified := func() *rp.SecurityEvent {
		t.Helper()
		ev, err := v.VerifySET(context.Background(), signSET(t, k, googleSET(time.Now(), "")))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if _, err := env.h.End(doorRequest(), verified().Logout(testIssuer, "", "")); err != nil {
		t.Fatalf("End of an acknowledged SET: %v", err)
	}
	if len(env.logouts) != 0 {
		t.Errorf("OnLogout saw %+v for a SET that names no session, want nothing", env.logouts[0])
	}
	if _, err := env.h.End(doorRequest(), verified().Logout(testIssuer, "sub-1", "")); err != nil {
		t.Fatalf("End of a session-ending SET: %v", err)
	}
	if len(env.logouts) != 1 || env.logouts[0].Subject != "sub-1" {
		t.Errorf("OnLogout saw %+v, want the session-ending SET's logout", env.logouts)
	}
}

// An event a door made has no token, so nothing is checked against or
// recorded in the replay cache: the same front-channel request twice ends
// the session twice, harmlessly.
func TestEndWithoutTokenSkipsTheReplayCache(t *testing.T) {
	env := newHandlerEnv(t, nil)
	ev := &rp.LogoutEvent{Door: "frontchannel", Logout: sessionadapter.Logout{Issuer: testIssuer, SessionID: "sid-1"}, JTI: "not-a-token's"}
	for range 2 {
		if _, err := env.h.End(doorRequest(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(env.ender.calls) != 2 {
		t.Errorf("ender calls %d, want 2", len(env.ender.calls))
	}
}

// Another door's rejection is counted and reported with its door.
func TestRejectReportsTheDoor(t *testing.T) {
	var doors []string
	env := newHandlerEnv(t, nil, rp.WithOnReject(func(_ context.Context, door string, _ *http.Request, _ error) { doors = append(doors, door) }))
	env.h.Reject(doorRequest(), "sharedsignals", rp.ErrSignature)
	if want := []string{"sharedsignals:signature"}; !slices.Equal(env.metrics.doors, want) {
		t.Errorf("metrics %v, want %v", env.metrics.doors, want)
	}
	if !slices.Equal(doors, []string{"sharedsignals"}) {
		t.Errorf("OnReject doors %v", doors)
	}
}

// A door's logout whose store failed is counted once as failed with its
// door, queued, and ended by the retry once the store is back.
func TestEndStoreFailureIsRetriedAndCountedOnceWithItsDoor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0)
		ev := &rp.LogoutEvent{Door: "signout", Logout: sessionadapter.Logout{Issuer: testIssuer, Subject: "alice", SessionID: "sid-1", IssuedAt: testNow}}
		if _, err := env.h.End(doorRequest(), ev); !errors.Is(err, rp.ErrTemporary) {
			t.Fatalf("End = %v, want ErrTemporary", err)
		}
		env.ender.set(false)
		time.Sleep(time.Second) // the retry's due time
		synctest.Wait()
		env.close(t)
		if _, ended := env.ender.stats(); ended["sid-1"] != 1 {
			t.Errorf("sid-1 ended %d times, want 1", ended["sid-1"])
		}
		if want := []string{"signout:failed", "signout:queued", "signout:retried"}; !slices.Equal(env.metrics.doors, want) {
			t.Errorf("metrics %v, want %v", env.metrics.doors, want)
		}
	})
}
