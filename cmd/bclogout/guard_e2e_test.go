package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/redistest"
)

// needTool returns the path of an external program an end-to-end test
// runs; without it the test skips, except under CI, where a missing tool
// must not pass as a skipped test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (CI is set: it must be)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// buildStatic builds this command as the one static binary it ships as
// (CGO_ENABLED=0).
func buildStatic(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the command and runs external servers")
	}
	bin := filepath.Join(t.TempDir(), "bclogout")
	cmd := exec.Command(needTool(t, "go"), "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// outputLog collects a process's output for the failure message.
type outputLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *outputLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *outputLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is an external server a test started; stop signals it and
// waits, and a test's end kills what is left.
type process struct {
	cmd  *exec.Cmd
	out  *outputLog
	done chan error
}

// start runs the command with its output read by scan until scan returns
// true (the server said where it listens), and the rest kept.
func start(t *testing.T, cmd *exec.Cmd, scan func(line string) bool) *process {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := &process{cmd: cmd, out: &outputLog{}, done: make(chan error, 1)}
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			fmt.Fprintln(p.out, sc.Text())
			if !seen && scan(sc.Text()) {
				seen = true
				close(found)
			}
		}
		r.Close()
		if !seen {
			close(found)
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), p.out.String())
		}
	})
	select {
	case <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start:\n%s", cmd.Path, p.out.String())
	}
	return p
}

// stop sends sig and returns the exit error, or fails after 10 s.
func (p *process) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop on %v:\n%s", p.cmd.Path, sig, p.out.String())
		return nil
	}
}

// guardProcess is a running `bclogout guard`.
type guardProcess struct {
	*process
	addr, admin string
}

// startGuardProcess runs the guard binary and waits until it listens and
// is ready.
func startGuardProcess(t *testing.T, bin string, args ...string) *guardProcess {
	t.Helper()
	g := &guardProcess{}
	cmd := exec.Command(bin, append([]string{"guard", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)...)
	g.process = start(t, cmd, func(line string) bool {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) != nil {
			return false
		}
		switch rec.Msg {
		case "guard: admin listening":
			g.admin = rec.Addr
		case "guard: listening":
			g.addr = rec.Addr
			return true
		}
		return false
	})
	if g.addr == "" || g.admin == "" {
		t.Fatalf("guard did not listen:\n%s", g.out.String())
	}
	resp, err := http.Get("http://" + g.admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d", resp.StatusCode)
	}
	return g
}

// startStaticServer serves dir with Python's http.server, an app not
// written in Go, and returns its address.
func startStaticServer(t *testing.T, dir string) (addr string, p *process) {
	t.Helper()
	re := regexp.MustCompile(`port (\d+)`)
	cmd := exec.Command(needTool(t, "python3"), "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir)
	p = start(t, cmd, func(line string) bool {
		if m := re.FindStringSubmatch(line); m != nil {
			addr = "127.0.0.1:" + m[1]
			return true
		}
		return false
	})
	if addr == "" {
		t.Fatalf("http.server did not listen:\n%s", p.out.String())
	}
	return addr, p
}

// freePort returns a loopback port nothing listens on now, for a server
// (nginx) that cannot report the port it picked.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNginx runs nginx in the foreground, one process, with conf (the
// http block's servers) in a temporary prefix, and waits until every
// address in listen accepts connections.
func startNginx(t *testing.T, servers string, listen ...string) *process {
	t.Helper()
	bin := needTool(t, "nginx")
	prefix := t.TempDir()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
%[2]s
}
`, prefix, servers)
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", prefix, "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	p := start(t, exec.Command(bin, "-p", prefix, "-c", path), func(string) bool { return true })
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range listen {
		for {
			c, err := net.Dial("tcp", a)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("nginx does not listen on %s:\n%s", a, p.out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p
}

// get requests url with the ID token as the auth proxy passes it (none
// when empty) and returns the status and body.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Through Debian's nginx with auth_request to the forward-auth endpoint of
// two guard instances sharing Redis, in front of Python's http.server: the
// OP ends one user's session by back-channel logout to one instance, and
// at both that user's next request is refused while the other user's is
// still served, and the app never sees the refused requests.
//
// The client sends the ID token in Authorization itself, standing in for
// what oauth2-proxy puts there (nginx passes the request's headers to the
// auth subrequest); TestGuardBehindOAuth2Proxy runs the real one.
func TestGuardBehindNginxAuthRequest(t *testing.T) {
	bin := buildStatic(t)
	needTool(t, "nginx")
	rdb := redistest.Client(t)
	redisURL, prefix := "redis://"+rdb.Options().Addr, redistest.Prefix(t, rdb)

	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("<p>the app</p>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	appAddr, app := startStaticServer(t, site)

	op := opkit.New(t)
	shared := []string{"--issuer", op.Issuer(), "--client-id", guardClient, "--redis", redisURL, "--redis-prefix", prefix}
	a := startGuardProcess(t, bin, shared...)
	b := startGuardProcess(t, bin, shared...)
	// The OP knows one back-channel URL: one instance gets each logout.
	if err := op.RegisterClient(opkit.Client{ID: guardClient, Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1/oauth2/callback"},
		BackchannelLogoutURI: "http://" + a.addr + "/backchannel-logout"}); err != nil {
		t.Fatal(err)
	}

	nginxA, nginxB := freePort(t), freePort(t)
	server := func(listen, guard string) string {
		return fmt.Sprintf(`	server {
		listen %s;
		location / {
			auth_request /_bclogout_auth;
			proxy_pass http://%s;
		}
		location = /_bclogout_auth {
			internal;
			proxy_pass http://%s/bclogout/auth;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_set_header X-Original-URI $request_uri;
		}
	}
`, listen, appAddr, guard)
	}
	startNginx(t, server(nginxA, a.addr)+server(nginxB, b.addr), nginxA, nginxB)

	login := func(sub string) (string, string) {
		sid, err := op.NewSession(sub, guardClient)
		if err != nil {
			t.Fatal(err)
		}
		return sid, mintIDToken(t, op, idToken{sub: sub, sid: sid, authTime: time.Now()})
	}
	aliceSID, alice := login("alice")
	_, bob := login("bob")
	fronts := []string{"http://" + nginxA, "http://" + nginxB}
	for _, front := range fronts {
		for _, tok := range []string{alice, bob} {
			if code, body := get(t, front+"/index.html", tok); code != http.StatusOK || !strings.Contains(body, "the app") {
				t.Fatalf("%s before the logout: %d %q", front, code, body)
			}
		}
		if code, _ := get(t, front+"/index.html", ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", front, code)
		}
		if code, _ := get(t, front+"/index.html", opkit.Tamper(bob)); code != http.StatusUnauthorized {
			t.Errorf("%s with a forged token: %d, want 401", front, code)
		}
	}

	rep, err := op.EndSession(t.Context(), aliceSID)
	if err != nil || !rep.OK() {
		t.Fatalf("the OP's logout: %v %+v", err, rep)
	}
	// a recorded it before answering the OP; b learns it from Redis's
	// feed, a separate process, so it is polled for.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get(t, fronts[1]+"/after-logout-probe", alice)
		if code == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance b still answers %d for the logged-out user", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, front := range fronts {
		if code, _ := get(t, front+"/index.html?who=alice-after", alice); code != http.StatusUnauthorized {
			t.Errorf("%s: the logged-out user got %d, want 401", front, code)
		}
		if code, body := get(t, front+"/index.html?who=bob-after", bob); code != http.StatusOK || !strings.Contains(body, "the app") {
			t.Errorf("%s: the other user got %d %q, want the page", front, code, body)
		}
	}
	if log := app.out.String(); strings.Contains(log, "alice-after") || strings.Contains(log, "after-logout-probe") {
		t.Errorf("the app saw a refused request:\n%s", log)
	}
	if !strings.Contains(app.out.String(), "bob-after") {
		t.Errorf("the app did not see the served request:\n%s", app.out.String())
	}
	// SIGTERM: a graceful stop, exit status 0.
	for _, g := range []*guardProcess{a, b} {
		if err := g.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("guard exit: %v\n%s", err, g.out.String())
		}
	}
}
