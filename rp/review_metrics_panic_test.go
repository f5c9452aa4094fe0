package rp_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/bclogout/bclogout/rp"
)

// TestReviewRetryMetricsPanicCrashesProcess: the Handler recovers a panic
// in the session Ender, in OnLogout and in OnReject, so that no hook can
// take the process down; on the request path net/http recovers the rest.
// The retry queue's goroutine calls the WithMetrics function unguarded
// ("queued", "retried", "abandoned_*"), so a panic in it (a metrics
// library refusing a label, say) kills the whole app from a background
// goroutine, with every session and pending logout in it.
func TestReviewRetryMetricsPanicCrashesProcess(t *testing.T) {
	if os.Getenv("REVIEW_METRICS_PANIC") == "1" {
		env := newRetryEnv(t, rp.RetryPolicy{}, rp.WithRetryMinBackoff(time.Millisecond),
			rp.WithMetrics(func(_, _, outcome string, _ int, _ time.Duration) {
				if outcome == "retried" {
					panic("metrics: bad label")
				}
			}))
		checkAnswer(t, post(env.h, formBody(tokenFor(t, 1))), http.StatusBadRequest, "temporarily_unavailable")
		<-env.ender.entered
		env.ender.set(false)
		_ = env.h.Close(context.Background()) // drains: the retry succeeds and reports "retried"
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReviewRetryMetricsPanicCrashesProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REVIEW_METRICS_PANIC=1")
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

// TestReviewMetricsPanicSkipsOnLogout: on the request path the metrics
// function runs after the sessions were ended and recorded, but before
// OnLogout and the 200. A panic in it (net/http recovers it and drops the
// connection) skips OnLogout, the hook that revokes refresh tokens and
// cascades the logout, and the OP's redelivery is refused as a replay, so
// the hook never runs for that logout. OnLogout and OnReject panics are
// recovered; the metrics function's is not.
func TestReviewMetricsPanicSkipsOnLogout(t *testing.T) {
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
