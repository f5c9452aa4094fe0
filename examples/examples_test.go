package examples_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

const clientID = "example-client"

// TestPrograms builds each example, starts it against a fake OP in this
// process, signs a user in through the app's own login route, ends the
// session at the OP and checks that the next request is signed out. Each
// runs with its default stores and, when BCLOGOUT_REDIS_URL is set
// (scripts/with-redis.sh), with its Redis stores; the postgres example
// runs when BCLOGOUT_PG_URL is set (scripts/with-postgres.sh).
func TestPrograms(t *testing.T) {
	programs := []string{"scs", "gorilla", "postgres"}
	bin := build(t, programs...)
	type mode struct{ name, env string }
	modes := map[string][]mode{}
	for _, name := range programs[:2] {
		modes[name] = []mode{{name: "default stores"}}
		if u := os.Getenv("BCLOGOUT_REDIS_URL"); u != "" {
			modes[name] = append(modes[name], mode{"redis", "BCLOGOUT_REDIS_URL=" + u})
		}
	}
	if os.Getenv("BCLOGOUT_REDIS_URL") == "" && os.Getenv("CI") != "" {
		t.Error("BCLOGOUT_REDIS_URL is not set under CI: run the tests through scripts/with-redis.sh")
	}
	if u := os.Getenv("BCLOGOUT_PG_URL"); u != "" {
		modes["postgres"] = []mode{{"postgresql", "BCLOGOUT_PG_URL=" + u}}
	} else if os.Getenv("CI") != "" {
		t.Error("BCLOGOUT_PG_URL is not set under CI: run the tests through scripts/with-postgres.sh")
	}
	for _, name := range programs {
		for _, mode := range modes[name] {
			t.Run(name+"/"+mode.name, func(t *testing.T) {
				op, err := opkit.NewServer("127.0.0.1:0", opkit.WithAllowPrivateTargets())
				if err != nil {
					t.Fatalf("fakeop: %v", err)
				}
				t.Cleanup(op.Close)
				// Only the mode's store: the others' variables are cleared.
				env := []string{"BCLOGOUT_REDIS_URL=", "BCLOGOUT_PG_URL=", "BCLOGOUT_CLIENT_SECRET=" + clientSecret}
				if mode.env != "" {
					env = append(env, mode.env) // the last of a name wins
				}
				args := []string{"-addr", "127.0.0.1:0", "-issuer", op.Issuer(), "-client-id", clientID}
				metricsAddr := ""
				if name == "gorilla" {
					metricsAddr = freeAddr(t)
					args = append(args, "-metrics-addr", metricsAddr)
				}
				base := start(t, env, filepath.Join(bin, name), args...)
				if err := op.RegisterClient(opkit.Client{
					ID: clientID, Secret: clientSecret, RedirectURIs: []string{base + "/callback"},
					BackchannelLogoutURI: base + "/backchannel-logout",
				}); err != nil {
					t.Fatal(err)
				}
				checkLogout(t, op, base)
				checkEndpoint(t, op, base+"/backchannel-logout")
				if metricsAddr != "" {
					checkMetrics(t, "http://"+metricsAddr+"/metrics", op.Issuer())
					if resp, err := http.Get(base + "/metrics"); err == nil {
						resp.Body.Close()
						if resp.StatusCode != http.StatusNotFound {
							t.Errorf("the app's own listener serves /metrics: %d", resp.StatusCode)
						}
					}
				}
			})
		}
	}
}

const clientSecret = "example-secret"

// checkLogout signs alice in on two browsers, ends one OP session, and
// checks that only that browser is signed out.
func checkLogout(t *testing.T, op *opkit.OP, base string) {
	t.Helper()
	browser := op.SignIn(t, base+"/login", "alice")
	other := op.SignIn(t, base+"/login", "alice")
	if page := get(t, browser, base); !strings.Contains(page, "Signed in as <b>alice</b>") {
		t.Fatalf("after sign-in: %s", page)
	}
	if rep := op.SignOut(t, browser); len(rep.Deliveries) != 1 || rep.Deliveries[0].Status != http.StatusOK {
		t.Fatalf("SignOut: %+v", rep)
	}
	if page := get(t, browser, base); !strings.Contains(page, "Signed out.") {
		t.Errorf("after the OP's logout: %s", page)
	}
	if page := get(t, other, base); !strings.Contains(page, "Signed in as <b>alice</b>") {
		t.Errorf("the other OP session after the logout: %s", page)
	}
}

// checkEndpoint talks to the back-channel endpoint as an OP (or an
// attacker) would.
func checkEndpoint(t *testing.T, op *opkit.OP, logoutURL string) {
	t.Helper()
	valid, err := op.SignLogoutToken(clientID, "user-1", "sid-1")
	if err != nil {
		t.Fatalf("SignLogoutToken: %v", err)
	}
	tests := []struct {
		name      string
		method    string
		token     string
		want      int
		wantAllow string
	}{
		{name: "forged token", method: http.MethodPost, token: opkit.Tamper(valid), want: http.StatusBadRequest},
		{name: "get", method: http.MethodGet, want: http.StatusMethodNotAllowed, wantAllow: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.token != "" {
				body = strings.NewReader(url.Values{"logout_token": {tt.token}}.Encode())
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, logoutURL, body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.wantAllow != "" && resp.Header.Get("Allow") != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), tt.wantAllow)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkMetrics reads the gorilla example's /metrics after one accepted
// and one forged token.
func checkMetrics(t *testing.T, metricsURL, issuer string) {
	t.Helper()
	body := get(t, http.DefaultClient, metricsURL)
	for _, want := range []string{
		`bclogout_logouts_accepted_total{door="backchannel",issuer="` + issuer + `"} 1`,
		`bclogout_request_duration_seconds_count{door="backchannel",outcome="accepted"} 1`,
		`bclogout_jwks_refreshes_total{result="ok",url="` + issuer + `/jwks"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s; got:\n%s", want, body)
		}
	}
}

// freeAddr returns a loopback address no listener holds now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// build compiles the named programs of this directory into a temporary
// directory and returns it.
func build(t *testing.T, programs ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the examples: %v", err)
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range programs {
		args = append(args, "./"+p)
	}
	if out, err := exec.Command(goBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// start runs the program, waits for its "listening on URL" line and returns
// the URL. When the test ends the program gets SIGTERM and must exit 0.
func start(t *testing.T, env []string, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	line, err := bufio.NewReader(stdout).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		exited = true
		t.Fatalf("first line %q (%v), want \"listening on URL\"; stderr:\n%s", line, err, stderr.String())
	}

	t.Cleanup(func() {
		if exited {
			return
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		err := cmd.Wait()
		exited = true
		switch {
		case err != nil:
			t.Errorf("after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		case t.Failed(): // what the program logged says why
			t.Logf("%s's stderr:\n%s", filepath.Base(path), stderr.String())
		}
	})
	return base
}

// TestProgramsStartTheirOwnFakeOP: `go run ./examples/scs` with no flags,
// as the README says, starts an in-process fake OP and serves the app.
func TestProgramsStartTheirOwnFakeOP(t *testing.T) {
	programs := []string{"scs", "gorilla"}
	if os.Getenv("BCLOGOUT_PG_URL") != "" { // the postgres example needs its database
		programs = append(programs, "postgres")
	}
	bin := build(t, programs...)
	for _, name := range programs {
		t.Run(name, func(t *testing.T) {
			base := start(t, nil, filepath.Join(bin, name), "-addr", "127.0.0.1:0")
			if page := get(t, http.DefaultClient, base+"/"); !strings.Contains(page, "Signed out") {
				t.Errorf("the home page of a fresh start: %s", page)
			}
		})
	}
}
