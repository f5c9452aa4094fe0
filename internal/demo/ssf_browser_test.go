package demo

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserPushSessionRevoked drives the Shared Signals part of the demo
// in real headless Chromium: signed in to both RPs, the user presses "Push
// CAEP session-revoked" at the OP, which pushes a CAEP session-revoked SET
// (RFC 8935) to beta's receiver; beta's open tab turns signed out by
// itself, while alpha, which has no receiver, keeps its session.
func TestBrowserPushSessionRevoked(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found; CI must install it (.ci/run does)")
		}
		t.Skip("chromium not found on PATH: install Debian's chromium to run the browser test")
	}
	d, err := Start(t.Context(), Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	do := func(c context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}

	do(bctx, "log in to alpha",
		chromedp.Navigate(d.AlphaURL()),
		chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#username")),
		chromedp.SetValue(css("#username"), "alice"),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#subject")),
	)
	do(bctx, "log in to beta (single sign-on at the OP)",
		chromedp.Navigate(d.BetaURL()),
		chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#subject")),
	)
	// Beta stays open in its own tab, with a marker a reload would wipe.
	betaTab, cancelTab := chromedp.NewContext(bctx)
	defer cancelTab()
	do(betaTab, "open beta in its own tab",
		chromedp.Navigate(d.BetaURL()),
		chromedp.WaitVisible(css("#subject")),
		chromedp.Evaluate[chromedp.Void]("window.bclogoutMarker = 42; undefined"),
	)

	do(bctx, `press "Push CAEP session-revoked" at the OP`,
		chromedp.Navigate(d.OPURL()),
		chromedp.WaitVisible(css("button.push-caep")),
		chromedp.Click(css("button.push-caep")),
		chromedp.WaitVisible(css("tr.push")),
	)
	pushed, err := chromedp.Run(bctx, chromedp.Text(css("tr.push")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pushed, "beta") || !strings.Contains(pushed, "202") {
		t.Fatalf("the OP's push report = %q, want beta answering 202", pushed)
	}
	_, err = chromedp.Run(betaTab, chromedp.Poll[bool](
		`document.getElementById("status").textContent.trim() === "Signed out" && window.bclogoutMarker === 42 && !!document.getElementById("pushed")`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("beta's open tab did not turn signed out: %v", err)
	}
	do(bctx, "reload beta", chromedp.Navigate(d.BetaURL()), chromedp.WaitVisible(css("#status")))
	if st, err := chromedp.Run(bctx, chromedp.Text(css("#status"))); err != nil || strings.TrimSpace(st) != "Signed out" {
		t.Fatalf("beta after a reload: %q %v", st, err)
	}
	// A SET is a signal to the receivers, not a logout at the OP: alpha,
	// which registered no receiver, is still signed in.
	do(bctx, "open alpha", chromedp.Navigate(d.AlphaURL()), chromedp.WaitVisible(css("#status")))
	if _, err := chromedp.Run(bctx, chromedp.Text(css("#subject"))); err != nil {
		t.Fatalf("alpha is no longer signed in: %v", err)
	}
}
