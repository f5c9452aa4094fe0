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

// newChromium starts headless Chromium for t, stopped when t ends, and
// returns its first tab. Without chromium on PATH the test is skipped, or
// fails under CI, which must install it (.ci/run does).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found; CI must install it (.ci/run does)")
		}
		t.Skip("chromium not found on PATH: install Debian's chromium to run the browser test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
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
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	return bctx
}

// css is a CSS selector for chromedp.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// do runs one named step of a browser test in tab c, failing t on error.
func do(t *testing.T, c context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// startDemoWith starts the demo with cfg (its logs discarded), closed when
// t ends.
func startDemoWith(t *testing.T, cfg Config) *Demo {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	d, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// signInToBoth signs alice in to alpha, then to beta (single sign-on at
// the OP), in browser tab bctx, and opens beta in a tab of its own with a
// marker a reload would wipe; it returns that tab.
func signInToBoth(t *testing.T, d *Demo, bctx context.Context) context.Context {
	t.Helper()
	do(t, bctx, "log in to alpha",
		chromedp.Navigate(d.AlphaURL()),
		chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#username")),
		chromedp.SetValue(css("#username"), "alice"),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#subject")),
	)
	do(t, bctx, "log in to beta (single sign-on at the OP)",
		chromedp.Navigate(d.BetaURL()),
		chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#subject")),
	)
	betaTab, cancelTab := chromedp.NewContext(bctx)
	t.Cleanup(cancelTab)
	do(t, betaTab, "open beta in its own tab",
		chromedp.Navigate(d.BetaURL()),
		chromedp.WaitVisible(css("#subject")),
		chromedp.Evaluate[chromedp.Void]("window.bclogoutMarker = 42; undefined"),
	)
	return betaTab
}

// betaTurnsSignedOut waits for beta's open tab to turn signed out by
// itself (the marker survives: no reload), then checks that a reload of
// beta in bctx is signed out too.
func betaTurnsSignedOut(t *testing.T, d *Demo, bctx, betaTab context.Context) {
	t.Helper()
	_, err := chromedp.Run(betaTab, chromedp.Poll[bool](
		`document.getElementById("status").textContent.trim() === "Signed out" && window.bclogoutMarker === 42 && !!document.getElementById("pushed")`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("beta's open tab did not turn signed out: %v", err)
	}
	do(t, bctx, "reload beta", chromedp.Navigate(d.BetaURL()), chromedp.WaitVisible(css("#status")))
	st, err := chromedp.Run(bctx, chromedp.Text(css("#status")))
	if err != nil || strings.TrimSpace(st) != "Signed out" {
		t.Fatalf("beta after a reload: %q %v", st, err)
	}
}
