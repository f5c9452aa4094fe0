package demo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser drives the demo in real headless Chromium: log in to both
// RPs through the OP's pages, check that a forged logout token signs nobody
// out, press "Sign out everywhere" at the OP, and check that both RP pages
// then say "Signed out".
//
// With BCLOGOUT_SCREENSHOT_DIR set (e.g. "testdata", relative to this
// package), it saves screenshots of the RP pages after the sign-out.
func TestBrowser(t *testing.T) {
	bctx := newChromium(t)
	d := startDemo(t, "")

	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	do("log in to alpha",
		chromedp.Navigate(d.URL()),
		chromedp.Click(css("#alpha-link")),
		chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#username")),
		chromedp.SetValue(css("#username"), "alice"),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#subject")),
	)
	sid := text("#sid")
	do("log in to beta (single sign-on at the OP)",
		chromedp.Navigate(d.URL()),
		chromedp.Click(css("#beta-link")),
		chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#subject")),
	)
	if sid == "" {
		t.Fatal("alpha shows no OP sid")
	}

	for _, rpName := range []string{"alpha", "beta"} {
		forged, err := d.ForgeLogoutToken(rpName, sid)
		if err != nil {
			t.Fatal(err)
		}
		if code, err := d.PostLogoutToken(bctx, d.LogoutURL(rpName), forged); err != nil || code != 400 {
			t.Fatalf("forged token at %s: %d, %v; want 400", rpName, code, err)
		}
	}
	do("reload alpha after the forged tokens", chromedp.Navigate(d.AlphaURL()), chromedp.WaitVisible(css("#status")))
	alphaStatus := text("#status")
	do("reload beta after the forged tokens", chromedp.Navigate(d.BetaURL()), chromedp.WaitVisible(css("#status")))
	betaStatus := text("#status")
	if !strings.HasPrefix(alphaStatus, "Signed in as alice") || !strings.HasPrefix(betaStatus, "Signed in as alice") {
		t.Fatalf("a forged token signed someone out: alpha %q, beta %q", alphaStatus, betaStatus)
	}

	// Keep both RP pages open in their own tabs, each with a marker that a
	// reload would wipe, while the OP signs the user out from a third.
	tabs := map[string]context.Context{}
	for name, u := range map[string]string{"alpha": d.AlphaURL(), "beta": d.BetaURL()} {
		tctx, cancelTab := chromedp.NewContext(bctx)
		defer cancelTab()
		if err := chromedp.Do(tctx, chromedp.Navigate(u), chromedp.WaitVisible(css("#subject")),
			chromedp.Evaluate[chromedp.Void]("window.bclogoutMarker = 42; undefined")); err != nil {
			t.Fatalf("open %s in its own tab: %v", name, err)
		}
		tabs[name] = tctx
	}
	do("sign out everywhere at the OP",
		chromedp.Navigate(d.OPURL()),
		chromedp.WaitVisible(css("button.signout")),
		chromedp.Click(css("button.signout")),
		chromedp.WaitNotPresent(css("button.signout")),
	)
	report := text("body")
	// Each open page turns signed-out by itself: no navigation (a Poll
	// does not survive one, and the marker would be gone).
	for name, tctx := range tabs {
		_, err := chromedp.Run(tctx, chromedp.Poll[bool](
			`document.getElementById("status").textContent.trim() === "Signed out" && window.bclogoutMarker === 42 && !!document.getElementById("pushed")`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		if err != nil {
			t.Fatalf("the open %s page did not turn signed-out by itself: %v; OP said:\n%s", name, err, report)
		}
	}
	var alphaShot, betaShot []byte
	for name, tctx := range tabs {
		shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		st, err := chromedp.Run(tctx, chromedp.Text(css("#status")))
		if err != nil {
			t.Fatal(err)
		}
		if name == "alpha" {
			alphaShot, alphaStatus = shot, strings.TrimSpace(st)
		} else {
			betaShot, betaStatus = shot, strings.TrimSpace(st)
		}
	}
	// And a reload agrees: the guard ended both sessions.
	for _, u := range []string{d.AlphaURL(), d.BetaURL()} {
		do("reload "+u, chromedp.Navigate(u), chromedp.WaitVisible(css("#status")))
		if st := text("#status"); st != "Signed out" {
			t.Fatalf("%s after a reload: %q, want Signed out", u, st)
		}
	}
	if alphaStatus != "Signed out" || betaStatus != "Signed out" {
		t.Fatalf("after sign out everywhere: alpha %q, beta %q; OP said:\n%s", alphaStatus, betaStatus, report)
	}
	if dir := os.Getenv("BCLOGOUT_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, shot := range map[string][]byte{"demo-alpha-signed-out.png": alphaShot, "demo-beta-signed-out.png": betaShot} {
			if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
