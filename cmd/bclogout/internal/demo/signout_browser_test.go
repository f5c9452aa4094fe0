package demo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSignOut drives the "Sign out" button in real headless
// Chromium: signed in to both RPs, the user presses "Sign out" in alpha;
// alpha's session ends at once, the OP ends its session and sends the
// browser back to alpha, and beta's open tab turns signed out by itself,
// told by the OP: by back-channel logout, or, with beta registered for
// front-channel logout only, by the frame of beta's front-channel endpoint
// in the OP's sign-out page.
func TestBrowserSignOut(t *testing.T) {
	for _, tt := range []struct {
		name         string
		frontChannel bool
	}{
		{name: "back-channel", frontChannel: false},
		{name: "front-channel", frontChannel: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bctx := newChromium(t)
			d := startDemoWith(t, Config{FrontChannel: tt.frontChannel})
			betaTab := signInToBoth(t, d, bctx)

			do(t, bctx, `press "Sign out" in alpha`,
				chromedp.Navigate(d.AlphaURL()),
				chromedp.WaitVisible(css("#signout")),
				chromedp.Click(css("#signout")),
			)
			// Back at alpha, through the OP's end_session (and, in
			// front-channel mode, its page framing beta), with the state
			// the sign-out route accepted: it redirects to alpha's page.
			// A Poll does not survive the navigations on the way: check
			// again until it holds.
			back := `location.href === ` + jsString(d.AlphaURL()) + ` && !!document.getElementById("login")`
			var err error
			for deadline := time.Now().Add(15 * time.Second); ; {
				var ok bool
				if ok, err = chromedp.Run(bctx, chromedp.Evaluate[bool](back)); err == nil && ok {
					break
				} else if err == nil {
					err = errors.New("not yet")
				}
				if time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond) // polling a browser, not waiting for a TTL
			}
			if err != nil {
				loc, _ := chromedp.Run(bctx, chromedp.Location())
				body, _ := chromedp.Run(bctx, chromedp.Text(css("body")))
				t.Fatalf("after Sign out the browser is at %s, not signed-out alpha: %v\n%s", loc, err, body)
			}
			betaTurnsSignedOut(t, d, bctx, betaTab)
			if open := d.op.Sessions("alice"); len(open) != 0 {
				t.Errorf("OP sessions left open: %v", open)
			}
		})
	}
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
