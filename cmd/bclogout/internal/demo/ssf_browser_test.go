package demo

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPushSessionRevoked drives the Shared Signals part of the demo
// in real headless Chromium: signed in to both RPs, the user presses "Push
// CAEP session-revoked" at the OP, which pushes a CAEP session-revoked SET
// (RFC 8935) to beta's receiver; beta's open tab turns signed out by
// itself, while alpha, which has no receiver, keeps its session.
func TestBrowserPushSessionRevoked(t *testing.T) {
	bctx := newChromium(t)
	d := startDemoWith(t, Config{})
	betaTab := signInToBoth(t, d, bctx)

	do(t, bctx, `press "Push CAEP session-revoked" at the OP`,
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
	betaTurnsSignedOut(t, d, bctx, betaTab)
	// Beta's panel shows the SET its receiver accepted.
	do(t, bctx, "open beta", chromedp.Navigate(d.BetaURL()), chromedp.WaitVisible(css("#events")))
	events, err := chromedp.Run(bctx, chromedp.Text(css("#events")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(events, "accepted") || !strings.Contains(events, "Security Event Token pushed") {
		t.Errorf("beta's panel = %q, want the accepted SET", events)
	}
	// A SET is a signal to the receivers, not a logout at the OP: alpha,
	// which registered no receiver, is still signed in.
	do(t, bctx, "open alpha", chromedp.Navigate(d.AlphaURL()), chromedp.WaitVisible(css("#status")))
	if _, err := chromedp.Run(bctx, chromedp.Text(css("#subject"))); err != nil {
		t.Fatalf("alpha is no longer signed in: %v", err)
	}
}
