package rp_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bclogout/bclogout/rp"
)

// A panic in the metrics function, called from the retry queue's own
// goroutine ("queued", "retried", "abandoned_*"), is logged, not allowed
// to take the process down with every pending logout in it.
func TestRetryMetricsPanicIsRecovered(t *testing.T) {
	if os.Getenv("RP_METRICS_PANIC_CHILD") == "1" {
		synctest.Test(t, func(t *testing.T) {
			env := newRetryEnv(t, 0, rp.WithRetryMinBackoff(time.Millisecond),
				rp.WithMetrics(func(_, _, outcome string, _ int, _ time.Duration) {
					if outcome == "retried" {
						panic("metrics: bad label")
					}
				}))
			checkAnswer(t, post(env.h, formBody(tokenFor(t, 1))), http.StatusBadRequest, "temporarily_unavailable")
			<-env.ender.entered
			env.ender.set(false)
			_ = env.h.Close(context.Background()) // drains: the retry succeeds and reports "retried"
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRetryMetricsPanicIsRecovered$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RP_METRICS_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("a panic in the metrics function, called from the retry queue's goroutine, crashed the process: %v\n%s", err, lastLines(out, 8))
	}
}

func lastLines(b []byte, n int) string {
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			lines++
			if lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// A panic in the metrics function on the request path, after the logout
// was done, is recovered: OnLogout (which revokes refresh tokens and
// cascades) still runs, since the OP's redelivery would be refused as a
// replay and the hook would never run for that logout.
func TestMetricsPanicStillRunsOnLogout(t *testing.T) {
	ender := newFlakyEnder()
	ender.set(false)
	hooked := 0
	h, err := rp.NewHandler(newVerifier(t, nil), ender,
		rp.WithReplayCache(memoryCache(t)), rp.WithLogger(quietLogger()),
		rp.WithOnLogout(func(context.Context, *rp.LogoutEvent, int) { hooked++ }),
		rp.WithMetrics(func(_, _, outcome string, _ int, _ time.Duration) {
			if outcome == "accepted" {
				panic("metrics: bad label")
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { _ = recover() }() // as net/http does
		post(h, formBody(tokenFor(t, 1)))
	}()
	if hooked != 1 {
		t.Fatalf("OnLogout ran %d times for a completed logout whose metrics call panicked", hooked)
	}
}
