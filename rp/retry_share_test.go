package rp_test

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// Anyone can send a front-channel request: during a store outage, a
// flood of them takes at most a quarter of the retry queue, so a logout
// token that fails in the same outage is still queued (its OP will not
// retry a 400), and the same front-channel request sent again is one
// pending logout.
func TestRetryTokenlessLogoutsTakeAQuarterOfTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newRetryEnv(t, 0, rp.WithRetryCapacity(8))
		for i := range 10 {
			ev := &rp.LogoutEvent{Door: "frontchannel", Logout: sessionadapter.Logout{Issuer: testIssuer, SessionID: fmt.Sprintf("made-up-%d", i%4)}}
			if _, err := env.h.End(doorRequest(), ev); err == nil {
				t.Fatal("End with the store down: no error")
			}
		}
		if env.metrics.queued != 2 || len(env.metrics.abandoned) != 4 {
			t.Fatalf("queued %d, abandoned %v; want 2 (a quarter of 8: sids 0 and 1, each sent three times) and 4 full (sids 2 and 3, twice each)", env.metrics.queued, env.metrics.abandoned)
		}
		checkAnswer(t, post(env.h, formBody(tokenFor(t, 1))), http.StatusBadRequest, "temporarily_unavailable")
		if env.metrics.queued != 3 {
			t.Errorf("the logout token was not queued behind the front-channel flood: queued %d", env.metrics.queued)
		}
	})
}
