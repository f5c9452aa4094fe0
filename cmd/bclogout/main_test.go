package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/bclogout/bclogout/internal/opkit"
)

// runCmd runs the command in-process, as main does.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	sections := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "FLAGS", "EXAMPLES", "EXIT STATUS"}
	for _, c := range commands() {
		for _, flag := range []string{"--help", "-h", "-help"} {
			t.Run(c.name+flag, func(t *testing.T) {
				code, out, _ := runCmd(t, "", c.name, flag)
				if code != exitOK {
					t.Fatalf("exit %d, want 0", code)
				}
				for _, s := range sections {
					if !strings.Contains(out, "\n"+s+"\n") && !strings.HasPrefix(out, s+"\n") {
						t.Errorf("manual lacks section %s:\n%s", s, out)
					}
				}
			})
		}
		t.Run("help "+c.name, func(t *testing.T) {
			code, out, _ := runCmd(t, "", "help", c.name)
			if code != exitOK || !strings.Contains(out, "bclogout "+c.name+" - ") {
				t.Fatalf("exit %d, output:\n%s", code, out)
			}
		})
	}
}

// The guard manual's first example is two commands a reader runs as they are:
// oauth2-proxy must reach the guard at the address the guard listens on, must
// not listen on it itself (oauth2-proxy's default --http-address is
// 127.0.0.1:4180), and must have the settings without which it refuses to
// start.
func TestGuardManualExampleWiresOAuth2ProxyToTheGuard(t *testing.T) {
	code, out, _ := runCmd(t, "", "guard", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	_, examples, _ := strings.Cut(out, "\nEXAMPLES\n")
	first, _, _ := strings.Cut(examples, "\n\n")
	first = strings.ReplaceAll(first, "\\\n", " ")
	var guard, proxy []string
	for _, line := range strings.Split(first, "\n") {
		switch f := strings.Fields(line); {
		case len(f) > 1 && f[0] == "bclogout" && f[1] == "guard":
			guard = f
		case len(f) > 0 && f[0] == "oauth2-proxy":
			proxy = f
		}
	}
	if guard == nil || proxy == nil {
		t.Fatalf("first example has no guard and oauth2-proxy command:\n%s", first)
	}
	flag := func(args []string, name, def string) string {
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v
			}
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
		}
		return def
	}
	guardAddr := flag(guard, "--addr", "127.0.0.1:4181")
	if got := flag(proxy, "--upstream", ""); got != "http://"+guardAddr {
		t.Errorf("oauth2-proxy --upstream=%s, want the guard's http://%s", got, guardAddr)
	}
	if proxyAddr := flag(proxy, "--http-address", "127.0.0.1:4180"); proxyAddr == guardAddr {
		t.Errorf("the guard and oauth2-proxy both listen on %s", guardAddr)
	}
	for _, required := range []string{"--client-secret", "--cookie-secret", "--email-domain"} {
		if flag(proxy, required, "") == "" {
			t.Errorf("oauth2-proxy example lacks %s, without which it does not start", required)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{name: "no subcommand", args: nil, want: exitUsage},
		{name: "overview", args: []string{"help"}, want: exitOK},
		{name: "unknown subcommand", args: []string{"frobnicate"}, want: exitUsage},
		{name: "help for unknown", args: []string{"help", "frobnicate"}, want: exitUsage},
		{name: "unknown flag", args: []string{"send", "--frobnicate"}, want: exitUsage},
		{name: "send without --to", args: []string{"send", "--issuer", "http://127.0.0.1:1", "--aud", "a"}, want: exitUsage},
		{name: "send unknown variant", args: []string{"send", "--to", "http://127.0.0.1:1/x", "--issuer", "http://127.0.0.1:1", "--aud", "a", "--variant", "nope"}, want: exitUsage},
		{name: "send variant with claims", args: []string{"send", "--to", "http://127.0.0.1:1/x", "--issuer", "i", "--aud", "a", "--variant", "valid", "--sid", "x"}, want: exitUsage},
		{name: "send bad claim", args: []string{"send", "--to", "http://127.0.0.1:1/x", "--issuer", "i", "--aud", "a", "--claim", "novalue"}, want: exitUsage},
		{name: "receive without --issuer", args: []string{"receive", "--client-id", "a"}, want: exitUsage},
		{name: "receive without --client-id", args: []string{"receive", "--issuer", "http://127.0.0.1:1"}, want: exitUsage},
		{name: "receive --require-encryption without keys", args: []string{"receive", "--issuer", "http://127.0.0.1:1", "--client-id", "a", "--require-encryption"}, want: exitUsage},
		{name: "receive bad path", args: []string{"receive", "--issuer", "http://127.0.0.1:1", "--client-id", "a", "--path", "/x/"}, want: exitUsage},
		{name: "verify without token", args: []string{"verify", "--issuer", "http://127.0.0.1:1", "--client-id", "a"}, want: exitUsage},
		{name: "verify two tokens", args: []string{"verify", "--issuer", "http://127.0.0.1:1", "--client-id", "a", "x", "y"}, want: exitUsage},
		{name: "op bad client", args: []string{"op", "--client", "secret=x"}, want: exitUsage},
		{name: "list variants", args: []string{"send", "--list-variants"}, want: exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, "", tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.want, errOut)
			}
		})
	}
}

// An issuer on plain http to another host is refused with the https rule
// explained; a loopback issuer's configuration error (here an algorithm
// never allowed) is not about http, and gets no such advice.
func TestPlainHTTPIssuerRefused(t *testing.T) {
	op := newTestOP(t)
	for _, tt := range []struct {
		name   string
		common []string
		advice bool   // the https rule explained
		names  string // what stderr must name besides
	}{
		{name: "another host", common: []string{"--issuer", "http://op.example.com", "--client-id", "a"}, advice: true, names: "loopback"},
		{name: "loopback, alg none", common: []string{"--issuer", op.issuer, "--client-id", "a", "--alg", "none"}, names: `"none"`},
	} {
		for _, args := range [][]string{
			append([]string{"receive", "--addr", "127.0.0.1:0"}, tt.common...),
			append(append([]string{"verify"}, tt.common...), "x.y.z"),
		} {
			t.Run(tt.name+"/"+args[0], func(t *testing.T) {
				code, _, errOut := runCmd(t, "", args...)
				if code != exitFailure {
					t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailure, errOut)
				}
				if advice := strings.Contains(errOut, "must use https"); advice != tt.advice || !strings.Contains(errOut, tt.names) {
					t.Errorf("https advice %v, want %v, and %s named; stderr:\n%s", advice, tt.advice, tt.names, errOut)
				}
			})
		}
	}
}

// testOP serves discovery and the JWKS of the key in keyFile (created if
// missing), like "bclogout op --key-file" does.
type testOP struct {
	issuer  string
	keyFile string
	key     *opkit.Key
}

func newTestOP(t testing.TB) *testOP {
	t.Helper()
	op := &testOP{keyFile: filepath.Join(t.TempDir(), "op-key.json")}
	k, _, err := loadOrCreateSigningKey(op.keyFile, "RS256", cliKeyID)
	if err != nil {
		t.Fatal(err)
	}
	op.key = k
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	op.issuer = srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                op.issuer,
			"jwks_uri":                              op.issuer + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"backchannel_logout_supported":          true,
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(opkit.JWKS(k.PublicJWK()))
	})
	return op
}

// encKeyFile writes a fresh RP encryption key as a private JWK set.
func encKeyFile(t *testing.T) string {
	t.Helper()
	ek, err := opkit.GenerateEncryptionKey("rp-enc-1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rp-enc.json")
	if err := os.WriteFile(path, ek.PrivateJWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer is a stderr for a command running in another goroutine; it
// reports the listening URL once printed.
type syncBuffer struct {
	re   *regexp.Regexp // default listenRE
	mu   sync.Mutex
	buf  bytes.Buffer
	url  chan string
	once sync.Once
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	re := b.re
	if re == nil {
		re = listenRE
	}
	if m := re.FindSubmatch(b.buf.Bytes()); m != nil {
		b.once.Do(func() { b.url <- string(m[1]) })
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// launchReceive runs "bclogout receive" with args (and --addr 127.0.0.1:0)
// until ctx ends, printing to stdout, and returns its endpoint once it
// listens, its stderr, and its exit code when it has returned.
func launchReceive(t *testing.T, ctx context.Context, stdout io.Writer, args ...string) (endpoint string, stderr *syncBuffer, done <-chan int) {
	t.Helper()
	stderr = &syncBuffer{url: make(chan string, 1)}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, append([]string{"receive", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), stdout, stderr)
	}()
	select {
	case endpoint = <-stderr.url:
	case code := <-exit:
		t.Fatalf("receive exited %d before listening:\n%s", code, stderr.String())
	}
	return endpoint, stderr, exit
}

func TestReceive(t *testing.T) {
	op := newTestOP(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout bytes.Buffer
	endpoint, stderr, done := launchReceive(t, ctx, &stdout, "--issuer", op.issuer, "--client-id", "demo-rp")

	send := func(extra ...string) int {
		args := append([]string{"send", "--to", endpoint, "--issuer", op.issuer, "--aud", "demo-rp", "--key", op.keyFile}, extra...)
		code, _, errOut := runCmd(t, "", args...)
		if code == exitFailure || code == exitUsage {
			t.Fatalf("send %v: exit %d:\n%s", extra, code, errOut)
		}
		return code
	}
	if code := send("--sub", "alice", "--sid", "sid-1"); code != exitOK {
		t.Errorf("valid token: send exit %d, want 0", code)
	}
	if code := send("--variant", "unknown-kid"); code != exitNegative {
		t.Errorf("forged token: send exit %d, want 1", code)
	}
	if code := send("--variant", "bad-signature"); code != exitNegative {
		t.Errorf("forged token: send exit %d, want 1", code)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("receive exit %d after cancel, want 0:\n%s", code, stderr.String())
	}

	var recs []receiveRecord
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r receiveRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(recs), stdout.String())
	}
	if r := recs[0]; r.Outcome != "accepted" || r.Status != 200 || r.Subject != "alice" || r.SessionID != "sid-1" || r.Issuer != op.issuer || r.JTI == "" || r.SessionsEnded == nil || *r.SessionsEnded != 0 {
		t.Errorf("valid token: %+v", r)
	}
	for i, want := range []string{"unknown key", "does not verify"} {
		r := recs[i+1]
		if r.Outcome != "rejected" || r.Status != 400 || r.Reason != "signature" || !strings.HasPrefix(r.Detail, "rp: ") || !strings.Contains(r.Detail, want) {
			t.Errorf("forged token %d: %+v, want reason signature naming %s", i, r, want)
		}
		if r.Time.IsZero() || r.Time.Location() != time.UTC {
			t.Errorf("time %v, want a UTC time", r.Time)
		}
	}
}

// hostileToken is an unsigned token for issuer whose header and sub carry
// terminal controls a sender chose: C1 CSI, OSC and ST (U+009B, U+009D,
// U+009C), raw in the JSON as JSON allows, and a carriage return between
// crit's tokens, which the strict decoder keeps in the raw crit value.
func hostileToken(issuer string) string {
	b64 := base64.RawURLEncoding.EncodeToString
	hdr := "{\"alg\":\"RS256\",\"kid\":\"k\",\"crit\":[\r\"\u009b2J\u009d52;c;aGk=\u009c\"]}"
	claims := fmt.Sprintf(`{"iss":%q,"aud":"demo-rp","iat":%d,"jti":"j","sub":"\u009b2J\u007f","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`, issuer, time.Now().Unix())
	return b64([]byte(hdr)) + "." + b64([]byte(claims)) + ".c2ln"
}

// hasTerminalControl reports whether s holds a control character other
// than the newline: what a terminal would act on rather than show.
func hasTerminalControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) })
}

// A forged token's header reaches the rejection's detail: the line receive
// prints must still hold no control character a terminal would obey, and
// read back as the text the sender sent.
func TestReceivePrintsNoTerminalControls(t *testing.T) {
	op := newTestOP(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout bytes.Buffer
	endpoint, stderr, done := launchReceive(t, ctx, &stdout, "--issuer", op.issuer, "--client-id", "demo-rp")
	resp, err := http.PostForm(endpoint, url.Values{"logout_token": {hostileToken(op.issuer)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("receive exit %d, want 0:\n%s", code, stderr.String())
	}
	if hasTerminalControl(stdout.String()) || hasTerminalControl(stderr.String()) {
		t.Errorf("output holds terminal controls:\nstdout %q\nstderr %q", stdout.String(), stderr.String())
	}
	var r receiveRecord
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("line %q is not JSON: %v", stdout.String(), err)
	}
	if r.Outcome != "rejected" || !strings.Contains(r.Detail, "\u009b2J\u009d52;c;aGk=\u009c") {
		t.Errorf("record %+v, want a rejection naming the sender's crit", r)
	}
}

// blockedWriter is a stdout whose reader has stopped reading: a Write
// waits until release is closed.
type blockedWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// The OP's delivery is answered whatever becomes of receive's output: a
// reader of stdout that stops reading (a paused terminal, a full pipe)
// holds up the printed line, not the 200.
func TestReceiveAnswersBeforePrinting(t *testing.T) {
	op := newTestOP(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout := &blockedWriter{release: make(chan struct{})}
	endpoint, stderr, done := launchReceive(t, ctx, stdout, "--issuer", op.issuer, "--client-id", "demo-rp")
	sent := make(chan int, 1)
	go func() {
		code, _, _ := runCmd(t, "", "send", "--to", endpoint, "--issuer", op.issuer, "--aud", "demo-rp", "--key", op.keyFile, "--sub", "alice")
		sent <- code
	}()
	select {
	case code := <-sent:
		close(stdout.release)
		if code != exitOK {
			t.Errorf("send exit %d, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("no answer within 5 s while stdout was not being read")
		close(stdout.release)
		<-sent
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("receive exit %d after cancel, want 0:\n%s", code, stderr.String())
	}
	stdout.mu.Lock()
	defer stdout.mu.Unlock()
	if !strings.Contains(stdout.buf.String(), `"outcome":"accepted"`) {
		t.Errorf("the line was not printed once stdout was read again:\n%s", stdout.buf.String())
	}
}

// Stopped while stdout is not being read, receive exits within its
// shutdown's few seconds and says why: lines were left unprinted, not a
// bare deadline.
func TestReceiveShutdownWithStdoutBlockedSaysLinesWereNotPrinted(t *testing.T) {
	op := newTestOP(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout := &blockedWriter{release: make(chan struct{})}
	defer close(stdout.release)
	endpoint, stderr, done := launchReceive(t, ctx, stdout, "--issuer", op.issuer, "--client-id", "demo-rp")
	if code, _, errOut := runCmd(t, "", "send", "--to", endpoint, "--issuer", op.issuer, "--aud", "demo-rp", "--key", op.keyFile, "--sub", "alice"); code != exitOK {
		t.Fatalf("send exit %d:\n%s", code, errOut)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitFailure {
			t.Errorf("receive exit %d, want %d", code, exitFailure)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("receive still running 15 s after cancel with stdout blocked")
	}
	if got := stderr.String(); !strings.Contains(got, "not printed") {
		t.Errorf("stderr does not say lines were not printed:\n%s", got)
	}
}

// With --require-encryption, receive rejects a plain signed token (reason
// encryption) and accepts the same logout encrypted for its key.
func TestReceiveRequireEncryption(t *testing.T) {
	op := newTestOP(t)
	encFile := encKeyFile(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout bytes.Buffer
	endpoint, stderr, done := launchReceive(t, ctx, &stdout, "--issuer", op.issuer, "--client-id", "demo-rp", "--decryption-keys", encFile, "--require-encryption")
	send := func(extra ...string) int {
		args := append([]string{"send", "--to", endpoint, "--issuer", op.issuer, "--aud", "demo-rp", "--key", op.keyFile, "--sub", "alice"}, extra...)
		code, _, errOut := runCmd(t, "", args...)
		if code == exitFailure || code == exitUsage {
			t.Fatalf("send %v: exit %d:\n%s", extra, code, errOut)
		}
		return code
	}
	if code := send(); code != exitNegative {
		t.Errorf("plain token: send exit %d, want 1 (rejected)", code)
	}
	if code := send("--encrypt-to", encFile); code != exitOK {
		t.Errorf("encrypted token: send exit %d, want 0", code)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("receive exit %d after cancel, want 0:\n%s", code, stderr.String())
	}
	var recs []receiveRecord
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r receiveRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(recs), stdout.String())
	}
	if r := recs[0]; r.Outcome != "rejected" || r.Reason != "encryption" {
		t.Errorf("plain token: %+v, want rejected with reason encryption", r)
	}
	if r := recs[1]; r.Outcome != "accepted" || r.Subject != "alice" {
		t.Errorf("encrypted token: %+v, want accepted", r)
	}
}
