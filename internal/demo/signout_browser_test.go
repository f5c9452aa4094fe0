package demo

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
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
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found; CI must install it (.ci/run does)")
		}
		t.Skip("chromium not found on PATH: install Debian's chromium to run the browser test")
	}
	for _, tt := range []struct {
		name         string
		frontChannel bool
	}{
		{name: "back-channel", frontChannel: false},
		{name: "front-channel", frontChannel: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Start(t.Context(), Config{Logger: slog.New(slog.DiscardHandler), FrontChannel: tt.frontChannel})
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

			do(bctx, `press "Sign out" in alpha`,
				chromedp.Navigate(d.AlphaURL()),
				chromedp.WaitVisible(css("#signout")),
				chromedp.Click(css("#signout")),
			)
			// Back at alpha, through the OP's end_session (and, in
			// front-channel mode, its page framing beta), with the state
			// FinishSignOut accepted: /goodbye redirects to alpha's page.
			// A Poll does not survive the navigations on the way: check
			// again until it holds.
			back := `location.href === ` + jsString(d.AlphaURL()) + ` && !!document.getElementById("login")`
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
			_, err = chromedp.Run(betaTab, chromedp.Poll[bool](
				`document.getElementById("status").textContent.trim() === "Signed out" && window.bclogoutMarker === 42 && !!document.getElementById("pushed")`,
				chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
			if err != nil {
				t.Fatalf("beta's open tab did not turn signed out: %v", err)
			}
			do(bctx, "reload beta", chromedp.Navigate(d.BetaURL()), chromedp.WaitVisible(css("#status")))
			st, err := chromedp.Run(bctx, chromedp.Text(css("#status")))
			if err != nil || strings.TrimSpace(st) != "Signed out" {
				t.Fatalf("beta after a reload: %q %v", st, err)
			}
			if open := d.op.Sessions("alice"); len(open) != 0 {
				t.Errorf("OP sessions left open: %v", open)
			}
		})
	}
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
