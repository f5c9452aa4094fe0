package demo

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

func startDemo(t *testing.T, redisURL string) *Demo {
	t.Helper()
	d, err := Start(t.Context(), Config{RedisURL: redisURL, Logger: slog.New(slog.DiscardHandler)})
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

// browser is a cookie-jar HTTP client standing in for a person.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar}}
}

func (b *browser) do(req *http.Request) (string, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: %s\n%s", req.Method, req.URL, resp.Status, body)
	}
	return string(body), resp.Request.URL.String()
}

func (b *browser) get(u string) (string, string) {
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) (string, string) {
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var inputRE = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// login logs in at an RP through the OP, filling the OP's form when the
// OP asks (the first time; then single sign-on skips it).
func (b *browser) login(rpURL, user string) string {
	page, at := b.get(rpURL + "login")
	if strings.Contains(page, `id="username"`) {
		form := url.Values{}
		for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		form.Set("username", user)
		page, _ = b.post(at, form)
	}
	return page
}

var (
	sidRE   = regexp.MustCompile(`id="sid">([^<]+)<`)
	localRE = regexp.MustCompile(`id="local">([^<]+)<`)
)

// status reads the status box as rendered (the page's script, which can
// turn it signed-out later, also holds the words "Signed out").
func status(page string) string {
	switch {
	case strings.Contains(page, `id="status" class="status out">Signed out<`):
		return "signed out"
	case strings.Contains(page, `id="status" class="status in">Signed in as`):
		return "signed in"
	}
	return "unknown"
}

func redisURLs(t *testing.T) map[string]string {
	urls := map[string]string{"miniredis": ""}
	if u := os.Getenv("BCLOGOUT_REDIS_URL"); u != "" {
		urls["redis"] = u
	} else if os.Getenv("CI") != "" {
		t.Fatal("BCLOGOUT_REDIS_URL is unset under CI: run the tests through scripts/with-redis.sh")
	} else {
		t.Log("BCLOGOUT_REDIS_URL unset: beta runs on miniredis only (scripts/with-redis.sh adds a real Redis)")
	}
	return urls
}

// TestSignOutEverywhere drives the whole flow over HTTP: log in to both
// RPs, a forged logout ends nothing, the OP's "Sign out everywhere" ends
// both sessions.
func TestSignOutEverywhere(t *testing.T) {
	for name, redisURL := range redisURLs(t) {
		t.Run(name, func(t *testing.T) {
			d := startDemo(t, redisURL)
			b := newBrowser(t)
			landing, _ := b.get(d.URL())
			for _, u := range []string{d.OPURL(), d.AlphaURL(), d.BetaURL()} {
				if !strings.Contains(landing, u) {
					t.Errorf("landing page does not link %s", u)
				}
			}
			alpha := b.login(d.AlphaURL(), "alice")
			beta := b.login(d.BetaURL(), "alice")
			if status(alpha) != "signed in" || status(beta) != "signed in" {
				t.Fatalf("after login: alpha %s, beta %s", status(alpha), status(beta))
			}
			m := sidRE.FindStringSubmatch(alpha)
			if m == nil || !strings.Contains(beta, m[1]) {
				t.Fatalf("both RPs should show the same OP sid; alpha page:\n%s", alpha)
			}
			sid := m[1]
			for name, page := range map[string]string{"alpha": alpha, "beta": beta} {
				if localRE.FindStringSubmatch(page) == nil {
					t.Errorf("%s's page shows no local session ID", name)
				}
			}

			for _, rpName := range []string{"alpha", "beta"} {
				forged, err := d.ForgeLogoutToken(rpName, sid)
				if err != nil {
					t.Fatal(err)
				}
				code, err := d.PostLogoutToken(t.Context(), d.LogoutURL(rpName), forged)
				if err != nil || code != http.StatusBadRequest {
					t.Fatalf("forged token at %s: %d, %v; want 400", rpName, code, err)
				}
			}
			alpha, _ = b.get(d.AlphaURL())
			beta, _ = b.get(d.BetaURL())
			if status(alpha) != "signed in" || status(beta) != "signed in" {
				t.Fatalf("a forged token signed someone out: alpha %s, beta %s", status(alpha), status(beta))
			}
			for name, page := range map[string]string{"alpha": alpha, "beta": beta} {
				if !strings.Contains(page, `class="rejected"`) || !strings.Contains(page, "signature") || !strings.Contains(page, "unknown key") {
					t.Errorf("%s's page does not show the rejection", name)
				}
			}

			opHome, _ := b.get(d.OPURL())
			if !strings.Contains(opHome, sid) {
				t.Fatalf("OP home does not list the session %s", sid)
			}
			report, _ := b.post(d.OPURL()+"end_session", url.Values{"sid": {sid}})
			if !strings.Contains(report, "alpha") || !strings.Contains(report, "beta") {
				t.Errorf("OP report does not name both RPs:\n%s", report)
			}
			alpha, _ = b.get(d.AlphaURL())
			beta, _ = b.get(d.BetaURL())
			if status(alpha) != "signed out" || status(beta) != "signed out" {
				t.Fatalf("after sign out everywhere: alpha %s, beta %s", status(alpha), status(beta))
			}
			for name, page := range map[string]string{"alpha": alpha, "beta": beta} {
				if !strings.Contains(page, `class="accepted"`) || !strings.Contains(page, sid) {
					t.Errorf("%s's page does not show the accepted logout token for %s", name, sid)
				}
			}
			// The guard cleared alpha's cookie, so the session stays ended
			// rather than being revoked again at every request.
			au, err := url.Parse(d.AlphaURL())
			if err != nil {
				t.Fatal(err)
			}
			for _, ck := range b.c.Jar.Cookies(au) {
				if ck.Name == "alpha_session" {
					t.Errorf("alpha's session cookie survived the revocation")
				}
			}
		})
	}
}

func TestSelfCheck(t *testing.T) {
	d := startDemo(t, "")
	res, err := d.SelfCheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || !res[0].OK || !res[1].OK || res[1].Reason != "signature" {
		t.Fatalf("self-check: %+v", res)
	}
	// Nobody held the self-check's session: alpha's panel must not claim
	// it ended one. Alpha's cookie sessions cannot be counted; its panel
	// says the logout was recorded for the guard.
	page, _ := newBrowser(t).get(d.AlphaURL())
	if strings.Contains(page, "session(s) ended") || !strings.Contains(page, "logout recorded") {
		t.Errorf("alpha's panel after the self-check:\n%s", page)
	}
}
