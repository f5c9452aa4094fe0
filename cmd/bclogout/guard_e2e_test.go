package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/internal/redistest"
)

// needTool returns the path of an external program an end-to-end test
// runs; without it the test skips, except under CI, where a missing tool
// must not pass as a skipped test.
func needTool(t testing.TB, name string) string {
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
func start(t testing.TB, cmd *exec.Cmd, scan func(line string) bool) *process {
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

// logUntil returns the process's output once it holds s: it is read
// from a pipe by another goroutine, after the request that wrote it was
// answered. The output is in order, so what came before s is in too.
func (p *process) logUntil(t testing.TB, s string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if log := p.out.String(); strings.Contains(log, s) {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never appeared in the output of %s:\n%s", s, p.cmd.Path, p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// guardRun is a `bclogout guard` run in-process, as main runs it: its
// flags, its listeners, its JSON logs; stop is its SIGTERM.
type guardRun struct {
	addr, admin string
	out         *outputLog
	cancel      context.CancelFunc
	code        chan int
}

// startGuardRun runs the guard command and waits until it listens and is
// ready.
func startGuardRun(t testing.TB, args ...string) *guardRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &guardRun{out: &outputLog{}, cancel: cancel, code: make(chan int, 1)}
	r, w := io.Pipe()
	go func() {
		g.code <- run(ctx, append([]string{"guard", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...), strings.NewReader(""), io.Discard, w)
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			t.Logf("guard output:\n%s", g.out.String())
		}
	})
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		seen := false
		for sc.Scan() {
			fmt.Fprintln(g.out, sc.Text())
			var rec struct{ Msg, Addr string }
			if seen || json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			switch rec.Msg {
			case "guard: admin listening":
				g.admin = rec.Addr
			case "guard: listening":
				g.addr, seen = rec.Addr, true
				close(listening)
			}
		}
		if !seen {
			close(listening)
		}
	}()
	select {
	case <-listening:
	case <-time.After(30 * time.Second):
		t.Fatalf("guard did not start:\n%s", g.out.String())
	}
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

// stop stops the guard as SIGTERM does and returns its exit status.
func (g *guardRun) stop(t testing.TB) int {
	t.Helper()
	g.cancel()
	select {
	case code := <-g.code:
		return code
	case <-time.After(10 * time.Second):
		t.Fatalf("guard did not stop:\n%s", g.out.String())
		return -1
	}
}

// startStaticServer serves dir with Python's http.server, an app not
// written in Go, and returns its address.
func startStaticServer(t testing.TB, dir string) (addr string, p *process) {
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
func freePort(t testing.TB) string {
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
func startNginx(t testing.TB, servers string, listen ...string) *process {
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
func get(t testing.TB, url, token string) (int, string) {
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
// two guard instances (the command, run in-process) sharing Redis, in front of Python's http.server: the
// OP ends one user's session by back-channel logout to one instance, and
// at both that user's next request is refused while the other user's is
// still served, and the app never sees the refused requests.
//
// The client sends the ID token in Authorization itself, standing in for
// what oauth2-proxy puts there (nginx passes the request's headers to the
// auth subrequest); TestGuardBehindOAuth2Proxy runs the real one.
func TestGuardBehindNginxAuthRequest(t *testing.T) {
	needTool(t, "nginx")
	if testing.Short() {
		t.Skip("runs nginx and python3")
	}
	rdb := redistest.Client(t)
	redisURL, prefix := "redis://"+rdb.Options().Addr, redistest.Prefix(t, rdb)

	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("<p>the app</p>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	appAddr, app := startStaticServer(t, site)

	op := opkit.New(t)
	shared := []string{"--issuer", op.Issuer(), "--client-id", guardClient, "--redis", redisURL, "--redis-prefix", prefix}
	a := startGuardRun(t, shared...)
	b := startGuardRun(t, shared...)
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
	if log := app.logUntil(t, "bob-after"); strings.Contains(log, "alice-after") || strings.Contains(log, "after-logout-probe") {
		t.Errorf("the app saw a refused request:\n%s", log)
	}
	// SIGTERM: a graceful stop, exit status 0, after its last log line.
	for _, g := range []*guardRun{a, b} {
		if code := g.stop(t); code != exitOK {
			t.Errorf("guard exit status %d\n%s", code, g.out.String())
		}
	}
}

// needOAuth2Proxy returns the oauth2-proxy binary that
// scripts/oauth2-proxy.sh built (BCLOGOUT_OAUTH2_PROXY), or one on PATH.
func needOAuth2Proxy(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BCLOGOUT_OAUTH2_PROXY"); p != "" {
		return p
	}
	p, err := exec.LookPath("oauth2-proxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no oauth2-proxy (CI is set: .ci/run builds it with scripts/oauth2-proxy.sh)")
		}
		t.Skip("no oauth2-proxy: BCLOGOUT_OAUTH2_PROXY=$(scripts/oauth2-proxy.sh) runs this test")
	}
	return p
}

// oauth2ProxyArgs are the flags of an oauth2-proxy at addr in front of
// upstream, signing in at op as guardClient and passing the ID token on.
func oauth2ProxyArgs(op *opkit.OP, addr, upstream string) []string {
	return []string{
		"--http-address=" + addr,
		"--provider=oidc",
		"--oidc-issuer-url=" + op.Issuer(), // plain http on loopback: go-oidc accepts it
		"--client-id=" + guardClient,
		"--client-secret=s3cret",
		"--redirect-url=http://" + addr + "/oauth2/callback",
		"--upstream=" + upstream,
		"--cookie-secret=0123456789abcdef0123456789abcdef",
		"--cookie-secure=false",
		"--email-domain=*",
		"--oidc-email-claim=sub", // the fake OP's users have no email
		"--insecure-oidc-allow-unverified-email",
		"--skip-provider-button",
		"--pass-authorization-header",                  // Authorization: Bearer <ID token> to the upstream
		"--skip-auth-route=POST=^/backchannel-logout$", // the OP's POST has no cookie
		"--reverse-proxy=false",
	}
}

// startOAuth2Proxy runs oauth2-proxy on addr and waits for it.
func startOAuth2Proxy(t testing.TB, bin string, op *opkit.OP, addr, upstream string, more ...string) {
	t.Helper()
	// A flag given twice takes its last value: more can override.
	cmd := exec.Command(bin, append(oauth2ProxyArgs(op, addr, upstream), more...)...)
	start(t, cmd, func(string) bool { return true }) // then /ping says when it serves
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy at %s does not answer /ping", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oauth2ProxySetup is a real oauth2-proxy in front of the guard (upstream
// mode) in front of an app, signing in at a fake OP; with options, a
// replica of that pair and a baseline.
type oauth2ProxySetup struct {
	op      *opkit.OP
	proxy   string // base URL of oauth2-proxy → guard → app; the OP's back-channel logouts go here
	replica string // base URL of a second oauth2-proxy → a second guard → app, with replica
	direct  string // base URL of oauth2-proxy → app, with baseline
	appHits *atomic.Int32
}

type oauth2ProxyOptions struct {
	// replica runs a second guard instance behind a second oauth2-proxy
	// with the same cookie secret, as replicas behind a load balancer
	// are: a browser's cookie is good at both (a cookie is not bound to
	// a port, RFC 6265 §8.5). The two guards share revocations in Redis.
	replica bool
	// baseline runs an oauth2-proxy in front of the app directly.
	baseline bool
}

func newOAuth2ProxySetup(t testing.TB, bin string, o oauth2ProxyOptions) *oauth2ProxySetup {
	t.Helper()
	s := &oauth2ProxySetup{op: opkit.New(t), appHits: &atomic.Int32{}}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.appHits.Add(1)
		_, _ = io.WriteString(w, "app:"+r.URL.RequestURI())
	}))
	t.Cleanup(app.Close)
	f := defaultGuardFlags()
	f.issuer, f.upstream = s.op.Issuer(), app.URL
	if o.replica {
		rdb := redistest.Client(t)
		f.redisURL, f.redisPrefix = "redis://"+rdb.Options().Addr, redistest.Prefix(t, rdb)
	}
	guard := func() string {
		g, err := newGuard(t.Context(), f, slog.New(slog.DiscardHandler), guardDeps{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Close(context.Background()) })
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		return srv.URL
	}

	// addr → upstream, each oauth2-proxy to start once the OP knows its
	// redirect URI.
	proxies := [][2]string{{freePort(t), guard()}}
	s.proxy = "http://" + proxies[0][0]
	if o.replica {
		proxies = append(proxies, [2]string{freePort(t), guard()})
		s.replica = "http://" + proxies[len(proxies)-1][0]
	}
	if o.baseline {
		proxies = append(proxies, [2]string{freePort(t), app.URL})
		s.direct = "http://" + proxies[len(proxies)-1][0]
	}
	c := opkit.Client{ID: guardClient, Secret: "s3cret", BackchannelLogoutURI: s.proxy + "/backchannel-logout"}
	for _, p := range proxies {
		c.RedirectURIs = append(c.RedirectURIs, "http://"+p[0]+"/oauth2/callback")
	}
	if err := s.op.RegisterClient(c); err != nil {
		t.Fatal(err)
	}
	for _, p := range proxies {
		startOAuth2Proxy(t, bin, s.op, p[0], p[1])
	}
	return s
}

// signIn signs sub in through the oauth2-proxy at base, as a browser does.
func (s *oauth2ProxySetup) signIn(t testing.TB, base, sub string) *http.Client {
	t.Helper()
	b, err := s.op.Login(t.Context(), base+"/oauth2/start?rd=%2F", sub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Through two replicas of a real oauth2-proxy (--pass-authorization-header,
// one cookie secret), each in front of its own guard instance (upstream
// mode), the two sharing revocations in Redis: two users sign in at the
// fake OP, the OP ends one's session by a back-channel logout it delivers
// through the first oauth2-proxy to the first instance only, and at both
// that user's API call gets 401 and next page load is sent to
// oauth2-proxy's sign-out, which clears the cookie and starts a new
// sign-in at the OP; the app never sees those requests; the other user
// is still served by both.
func TestGuardBehindOAuth2Proxy(t *testing.T) {
	bin := needOAuth2Proxy(t)
	if testing.Short() {
		t.Skip("runs oauth2-proxy")
	}
	s := newOAuth2ProxySetup(t, bin, oauth2ProxyOptions{replica: true})
	fronts := []string{s.proxy, s.replica}
	alice, bob := s.signIn(t, s.proxy, "alice"), s.signIn(t, s.proxy, "bob")
	page := func(b *http.Client, front, accept string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, front+"/home", nil)
		req.Header.Set("Accept", accept)
		nb := *b
		nb.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := nb.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, front := range fronts {
		for _, b := range []*http.Client{alice, bob} {
			if resp := page(b, front, "text/html"); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s, signed in: %d", front, resp.StatusCode)
			}
		}
	}

	sid, ok := s.op.BrowserSession(alice)
	if !ok {
		t.Fatal("no OP session for alice")
	}
	rep, err := s.op.EndSession(t.Context(), sid)
	if err != nil || !rep.OK() || len(rep.Deliveries) != 1 || rep.Deliveries[0].Status != http.StatusOK {
		t.Fatalf("the OP's logout through oauth2-proxy: %v %+v", err, rep)
	}
	// The first instance recorded it before answering the OP; the replica
	// learns it from Redis's feed, so it is polled for, with API calls
	// that leave the cookie alone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := page(alice, s.replica, "application/json")
		if resp.StatusCode == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica still answers %d for the logged-out user", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}

	hits := s.appHits.Load()
	for _, front := range fronts {
		if resp := page(alice, front, "application/json"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: logged-out API call: %d, want 401", front, resp.StatusCode)
		}
		resp := page(alice, front, "text/html,application/xhtml+xml")
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/oauth2/sign_out?rd=%2Fhome" {
			t.Errorf("%s: logged-out page load: %d to %q, want 302 to oauth2-proxy's sign-out", front, resp.StatusCode, loc)
		}
	}
	if got := s.appHits.Load(); got != hits {
		t.Errorf("the app saw %d requests of the logged-out user", got-hits)
	}
	// oauth2-proxy's session cookie, which a host's ports share.
	signedIn := func(b *http.Client) bool {
		u, _ := url.Parse(s.proxy)
		for _, c := range b.Jar.Cookies(u) {
			// Not the CSRF cookie of the sign-in that follows a sign-out.
			if strings.HasPrefix(c.Name, "_oauth2_proxy") && !strings.HasSuffix(c.Name, "_csrf") {
				return true
			}
		}
		return false
	}
	if !signedIn(alice) {
		t.Fatal("no oauth2-proxy cookie in the browser before the sign-out")
	}
	// The browser follows the replica's redirect: oauth2-proxy clears its
	// cookie and the page asks for a sign-in, which goes to the OP's login
	// page (its session is over).
	r2, err := alice.Get(s.replica + "/oauth2/sign_out?rd=%2Fhome")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if !strings.HasPrefix(r2.Request.URL.String(), s.op.Issuer()+"/authorize?") {
		t.Errorf("after the sign-out the browser is at %s, want the OP's login page", r2.Request.URL)
	}
	if signedIn(alice) {
		t.Error("oauth2-proxy's cookie is still in the browser")
	}
	for _, front := range fronts {
		if resp := page(bob, front, "text/html"); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: the other user: %d, want 200", front, resp.StatusCode)
		}
	}
}

// nginx, the way oauth2-proxy documents it (auth_request, error_page 401 to
// /oauth2/sign_in, oauth2-proxy on /oauth2/), with the auth_request going to
// the guard's forward-auth endpoint, which asks oauth2-proxy's /oauth2/auth
// (--auth-request-url): two users sign in through nginx at the fake OP,
// the OP's back-channel logout reaches the guard through nginx, and the
// logged-out user's next request is sent to sign in again, never to the
// app (Python's http.server), while the other user is still served.
func TestGuardForwardAuthBehindNginxAndOAuth2Proxy(t *testing.T) {
	o2pBin := needOAuth2Proxy(t)
	needTool(t, "nginx")
	if testing.Short() {
		t.Skip("runs nginx, oauth2-proxy and python3")
	}
	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("<p>the app</p>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	appAddr, app := startStaticServer(t, site)
	op := opkit.New(t)
	ngx, o2p := freePort(t), freePort(t)

	f := defaultGuardFlags()
	f.issuer, f.upstream, f.authRequestURL = op.Issuer(), "", "http://"+o2p+"/oauth2/auth"
	if err := f.check(); err != nil {
		t.Fatal(err)
	}
	g, err := newGuard(t.Context(), f, slog.New(slog.DiscardHandler), guardDeps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	gsrv := httptest.NewServer(g)
	t.Cleanup(gsrv.Close)
	guardAddr := strings.TrimPrefix(gsrv.URL, "http://")

	base := "http://" + ngx
	if err := op.RegisterClient(opkit.Client{ID: guardClient, Secret: "s3cret",
		RedirectURIs: []string{base + "/oauth2/callback"}, BackchannelLogoutURI: base + "/backchannel-logout"}); err != nil {
		t.Fatal(err)
	}
	startOAuth2Proxy(t, o2pBin, op, o2p, "static://202",
		"--redirect-url="+base+"/oauth2/callback", "--set-authorization-header", "--set-xauthrequest")
	startNginx(t, fmt.Sprintf(`	server {
		listen %[1]s;
		location /oauth2/ {
			proxy_pass http://%[2]s;
			proxy_set_header X-Real-IP $remote_addr;
		}
		location = /backchannel-logout {
			proxy_pass http://%[3]s;
		}
		location = /_bclogout_auth {
			internal;
			proxy_pass http://%[3]s/bclogout/auth;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
		}
		location / {
			auth_request /_bclogout_auth;
			error_page 401 = /oauth2/sign_in;
			auth_request_set $user $upstream_http_x_auth_request_user;
			proxy_set_header X-User $user;
			proxy_pass http://%[4]s;
		}
	}
`, ngx, o2p, guardAddr, appAddr), ngx)

	signIn := func(sub string) *http.Client {
		b, err := op.Login(t.Context(), base+"/oauth2/start?rd=%2F", sub)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	alice, bob := signIn("alice"), signIn("bob")
	fetch := func(b *http.Client, path string) (*http.Response, string) {
		t.Helper()
		resp, err := b.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for _, b := range []*http.Client{alice, bob} {
		if resp, body := fetch(b, "/index.html"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "the app") {
			t.Fatalf("signed in: %d %q", resp.StatusCode, body)
		}
	}
	sid, ok := op.BrowserSession(alice)
	if !ok {
		t.Fatal("no OP session for alice")
	}
	rep, err := op.EndSession(t.Context(), sid)
	if err != nil || !rep.OK() || len(rep.Deliveries) != 1 {
		t.Fatalf("the OP's logout through nginx: %v %+v", err, rep)
	}
	resp, body := fetch(alice, "/index.html?who=alice-after")
	if strings.Contains(body, "the app") || !strings.HasPrefix(resp.Request.URL.String(), op.Issuer()+"/authorize?") {
		t.Errorf("the logged-out user ended at %s (%d), want the OP's login page", resp.Request.URL, resp.StatusCode)
	}
	if resp, body := fetch(bob, "/index.html?who=bob-after"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "the app") {
		t.Errorf("the other user: %d %q, want the page", resp.StatusCode, body)
	}
	if log := app.logUntil(t, "bob-after"); strings.Contains(log, "alice-after") {
		t.Errorf("the app saw a refused request:\n%s", log)
	}
}
