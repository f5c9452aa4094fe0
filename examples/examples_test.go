package examples_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bclogout/bclogout/fakeop"
)

const clientID = "example-client"

// TestPrograms builds every example, starts it against a fake OP and talks
// to it over HTTP the way the OP and a load balancer would.
func TestPrograms(t *testing.T) {
	programs := []string{"nethttp", "chi", "echo"}
	bin := build(t, programs...)
	for _, name := range programs {
		t.Run(name, func(t *testing.T) {
			// NewServer rather than New: New sets the issuer after its
			// server starts, which the race detector reports as soon as a
			// request from another process arrives.
			op, err := fakeop.NewServer("127.0.0.1:0")
			if err != nil {
				t.Fatalf("fakeop: %v", err)
			}
			t.Cleanup(op.Close)
			base := start(t, filepath.Join(bin, name), "-issuer", op.Issuer(), "-client-id", clientID)
			logoutURL := base + "/backchannel-logout"

			valid, err := op.SignLogoutToken(clientID, "user-1", "sid-1")
			if err != nil {
				t.Fatalf("SignLogoutToken: %v", err)
			}
			other, err := op.SignLogoutToken(clientID, "user-2", "")
			if err != nil {
				t.Fatalf("SignLogoutToken: %v", err)
			}
			tests := []struct {
				name      string
				method    string
				url       string
				token     string
				want      int
				wantAllow string
			}{
				{name: "healthz", method: http.MethodGet, url: base + "/healthz", want: http.StatusOK},
				{name: "valid token", method: http.MethodPost, url: logoutURL, token: valid, want: http.StatusOK},
				{name: "replayed token", method: http.MethodPost, url: logoutURL, token: valid, want: http.StatusBadRequest},
				{name: "sub only token", method: http.MethodPost, url: logoutURL, token: other, want: http.StatusOK},
				{name: "forged token", method: http.MethodPost, url: logoutURL, token: fakeop.Tamper(other), want: http.StatusBadRequest},
				{name: "get", method: http.MethodGet, url: logoutURL, want: http.StatusMethodNotAllowed, wantAllow: "POST"},
				{name: "unknown path", method: http.MethodPost, url: logoutURL + "/x", token: valid, want: http.StatusNotFound},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var body io.Reader
					if tt.token != "" {
						body = strings.NewReader(url.Values{"logout_token": {tt.token}}.Encode())
					}
					req, err := http.NewRequestWithContext(t.Context(), tt.method, tt.url, body)
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
					if strings.HasPrefix(tt.url, logoutURL) && tt.want != http.StatusNotFound &&
						resp.Header.Get("Cache-Control") != "no-store" {
						t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
					}
				})
			}
			if name == "chi" {
				checkMetrics(t, base+"/metrics", op.Issuer())
			}
		})
	}
}

// checkMetrics reads the chi example's /metrics after the requests above.
func checkMetrics(t *testing.T, metricsURL, issuer string) {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`bclogout_tokens_accepted_total{issuer="` + issuer + `"} 2`,
		`bclogout_tokens_rejected_total{issuer="` + issuer + `",reason="replay"} 1`,
		`bclogout_request_duration_seconds_count{outcome="accepted"} 2`,
		`bclogout_jwks_refreshes_total{result="ok",url="` + issuer + `/jwks"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s; got:\n%s", want, body)
		}
	}
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
func start(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
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
		if err != nil {
			t.Errorf("after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	})
	return base
}
