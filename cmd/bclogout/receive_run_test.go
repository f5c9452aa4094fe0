package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// marshalLine is what encoding/json prints for rec, with DEL and the C1
// controls, which it leaves raw, escaped as JSON spells them.
func marshalLine(t *testing.T, rec *receiveRecord) string {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "\x7f", `\u007f`)
	for r := rune(0x80); r < 0xa0; r++ {
		s = strings.ReplaceAll(s, string(r), fmt.Sprintf(`\u%04x`, r))
	}
	return s + "\n"
}

// Each printed line is what encoding/json prints for the record, whatever
// the token's claims hold: quotes, control characters, invalid UTF-8, HTML
// and the line separators must be escaped the same way; DEL and the C1
// controls, which a terminal obeys, are escaped too.
func TestReceiveLineMatchesEncodingJSON(t *testing.T) {
	zero, three := 0, 3
	tests := []struct {
		name string
		rec  receiveRecord
	}{
		{"accepted", receiveRecord{Time: time.Date(2026, 12, 7, 13, 31, 13, 123456789, time.UTC), Outcome: "accepted", Status: 200,
			Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1", JTI: "j1", SessionsEnded: &zero}},
		{"rejected", receiveRecord{Time: time.Date(2026, 12, 7, 13, 31, 13, 0, time.UTC), Outcome: "rejected", Status: 400,
			Reason: "signature", Detail: `rp: token signature does not verify`}},
		{"nothing but the required fields", receiveRecord{}},
		{"sessions ended", receiveRecord{Outcome: "accepted", Status: 200, Subject: "bob", SessionsEnded: &three}},
		{"quotes and backslashes", receiveRecord{Subject: `a"b\c\"`, Detail: `"\\"`}},
		{"control characters", receiveRecord{Subject: "a\x00b\x01\b\f\n\r\t\x1f\x7f", SessionID: "\x1b[31m"}},
		{"C1 controls", receiveRecord{Subject: "\u009b2J\u009d52;c;aGk=\u009c", Detail: "a\u0085b\u0080\u009f"}},
		{"invalid UTF-8", receiveRecord{Subject: "a\xffb\xc3", JTI: "\xed\xa0\x80"}},
		{"HTML", receiveRecord{Issuer: `</script><script>alert(1)</script>`, Detail: "a&b<c>d"}},
		{"line separators", receiveRecord{Subject: "a\u2028b\u2029c"}},
		{"non-ASCII", receiveRecord{Subject: "zoë 日本", Reason: "émoji 😀"}},
		{"negative status", receiveRecord{Status: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := marshalLine(t, &tt.rec)
			if got := appendRecord([]byte("prefix"), &tt.rec); string(got) != "prefix"+want {
				t.Errorf("appendRecord:\n got %q\nwant %q", got, "prefix"+want)
			}
		})
	}
}

func FuzzReceiveLineMatchesEncodingJSON(f *testing.F) {
	f.Add("alice", "rp: bad \"sig\"\n", 200, true)
	f.Add("\xff<&>\u2028", "\x00", -7, false)
	f.Add("\u009b2J\x7f", "\u0085", 1, true)
	f.Fuzz(func(t *testing.T, s, detail string, status int, ended bool) {
		at := time.Unix(int64(status), int64(status)%1e9).UTC() // a year of four digits, as the clock gives
		rec := receiveRecord{Time: at, Outcome: detail, Status: status, Issuer: s, Subject: detail, SessionID: s, JTI: detail, Reason: s, Detail: detail}
		if ended {
			rec.SessionsEnded = &status
		}
		want := marshalLine(t, &rec)
		if got := appendRecord(nil, &rec); string(got) != want {
			t.Errorf("appendRecord:\n got %q\nwant %q", got, want)
		}
	})
}

// lockedBuffer is a stdout that counts the writes it receives.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Lines from concurrent requests all come out, whole and each request's in
// its order, by the time every request's write has returned.
func TestReceiveLinesAllPrinted(t *testing.T) {
	const writers, each = 8, 500
	stdout := &lockedBuffer{}
	l := newLineWriter(stdout)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				l.write(fmt.Appendf(nil, "{\"w\":%d,\"i\":%d}\n", w, i))
			}
		})
	}
	wg.Wait()
	next := make([]int, writers)
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	for _, line := range lines {
		var v struct{ W, I int }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if v.I != next[v.W] {
			t.Fatalf("writer %d: line %d after %d", v.W, v.I, next[v.W]-1)
		}
		next[v.W]++
	}
	if len(lines) != writers*each {
		t.Errorf("%d lines, want %d", len(lines), writers*each)
	}
	t.Logf("%d lines in %d writes", len(lines), stdout.writes)
}

// waitLines polls l until done holds of whether a request is writing and
// how many bytes are queued.
func waitLines(l *lineWriter, done func(writing bool, queued int) bool) {
	for {
		l.mu.Lock()
		ok := done(l.writing, len(l.queue))
		l.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// chanWriter hands each write to a reader of its channel.
type chanWriter chan string

func (w chanWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// While one request waits on stdout, another's line queues and the
// request goes on; the waiting request prints the queued line as soon as
// its own is out, not when a third request comes: a user tails the
// output.
func TestReceiveLineQueuedBehindAWriterIsPrintedPromptly(t *testing.T) {
	stdout := make(chanWriter)
	l := newLineWriter(stdout)
	go l.write([]byte("one\n"))
	waitLines(l, func(writing bool, queued int) bool { return writing && queued == 0 }) // the writer took the line
	returned := make(chan struct{})
	go func() {
		l.write([]byte("two\n"))
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("a line behind a writer waited for stdout")
	}
	for _, want := range []string{"one\n", "two\n"} {
		select {
		case got := <-stdout:
			if got != want {
				t.Errorf("wrote %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q not written within 5 s", want)
		}
	}
}

// stuckFlush is a ResponseWriter whose answer cannot be sent: its Flush
// blocks until release is closed.
type stuckFlush struct {
	http.ResponseWriter
	stuck, release chan struct{}
}

func (w stuckFlush) Flush() {
	close(w.stuck)
	<-w.release
}

// A request whose answer cannot be sent (an OP that pipelines and does not
// read, its socket full until the server's WriteTimeout) holds its own
// line at most: another request's line, with stdout being read, is
// printed at once.
func TestReceiveLinePrintedWhileAnotherAnswerIsStuck(t *testing.T) {
	stdout := &lockedBuffer{}
	_, wrap := recordingHandler(newLineWriter(stdout), time.Now)
	h := wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	w := stuckFlush{httptest.NewRecorder(), make(chan struct{}), make(chan struct{})}
	go h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
	<-w.stuck
	defer close(w.release)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
	if got := stdout.String(); strings.Count(got, `"status":418`) != 1 {
		t.Errorf("with one answer stuck, printed %q, want the other request's line", got)
	}
}

// Lines queued past the bound wait until stdout takes the queue: a
// stdout that is not read holds a bounded number of lines.
func TestReceiveLinesFullQueueWaits(t *testing.T) {
	stdout := &blockedWriter{release: make(chan struct{})}
	l := newLineWriter(stdout)
	l.max = 8
	line := []byte("{}\n")
	// The first request writes its line and blocks on stdout.
	go l.write(line)
	waitLines(l, func(writing bool, queued int) bool { return writing && queued == 0 })
	for range 3 { // 9 bytes queued: full
		l.write(line)
	}
	returned := make(chan struct{})
	go func() {
		l.write(line)
		close(returned)
	}()
	select {
	case <-returned:
		t.Fatal("a write into a full queue returned while stdout was blocked")
	case <-time.After(50 * time.Millisecond):
	}
	close(stdout.release)
	<-returned
	waitLines(l, func(writing bool, _ int) bool { return !writing })
	stdout.mu.Lock()
	defer stdout.mu.Unlock()
	if got := strings.Count(stdout.buf.String(), "{}\n"); got != 5 {
		t.Errorf("%d lines printed, want 5", got)
	}
}

// Each request gets its own line and status, whether its connection's
// record came from the server's ConnContext or, served otherwise (HTTP/2,
// another server), from the request itself.
func TestReceiveRecordsEachRequest(t *testing.T) {
	for _, tt := range []struct {
		name  string
		proto int
		conn  bool
	}{
		{"HTTP/1.1 with the connection's record", 1, true},
		{"HTTP/2 with the connection's record", 2, true},
		{"without ConnContext", 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout := &lockedBuffer{}
			out := newLineWriter(stdout)
			at := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
			_, wrap := recordingHandler(out, func() time.Time { return at })
			h := wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				code, _ := strconv.Atoi(r.URL.Query().Get("code"))
				w.WriteHeader(code)
			}))
			ctx := t.Context()
			if tt.conn {
				ctx = withReceiveConn(ctx, nil)
			}
			for _, code := range []int{404, 405} {
				r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/?code="+strconv.Itoa(code), nil)
				r.ProtoMajor = tt.proto
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			want := `{"time":"2026-12-07T15:00:00Z","outcome":"rejected","status":404}` + "\n" +
				`{"time":"2026-12-07T15:00:00Z","outcome":"rejected","status":405}` + "\n"
			if got := stdout.String(); got != want {
				t.Errorf("printed\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// Requests pipelined on one HTTP/1.1 connection share its record one at
// a time: each line holds its own request's fields and none of the
// previous one's.
func TestReceivePipelinedRequestsKeepTheirOwnLines(t *testing.T) {
	stdout := &lockedBuffer{}
	out := newLineWriter(stdout)
	at := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	_, wrap := recordingHandler(out, func() time.Time { return at })
	h := wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sub := r.URL.Query().Get("sub"); sub != "" {
			rec := recordOf(r.Context())
			rec.Outcome, rec.Subject = "accepted", sub
			n := len(sub)
			rec.SessionsEnded = &n
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, ln, h, slog.New(slog.DiscardHandler), receiveLimits, withReceiveConn) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 50
	var reqs strings.Builder
	for i := range n {
		target := "/"
		if i%2 == 0 {
			target = fmt.Sprintf("/?sub=u%d", i)
		}
		fmt.Fprintf(&reqs, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", target)
	}
	if _, err := c.Write([]byte(reqs.String())); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for i, line := range lines {
		want := `{"time":"2026-12-07T15:00:00Z","outcome":"rejected","status":200}`
		if i%2 == 0 {
			sub := fmt.Sprintf("u%d", i)
			want = fmt.Sprintf(`{"time":"2026-12-07T15:00:00Z","outcome":"accepted","status":200,"sub":%q,"sessions_ended":%d}`, sub, len(sub))
		}
		if line != want {
			t.Errorf("line %d = %s, want %s", i, line, want)
		}
	}
}

// Every request is answered as ServeMux alone would answer it: the
// logout path spelled plainly reaches the endpoint, and the spellings
// ServeMux redirects or refuses, and other paths, get its answer.
func TestReceiveRoutesAsServeMux(t *testing.T) {
	const path = "/rp/backchannel-logout"
	endpoint := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux := http.NewServeMux()
	mux.Handle(path, endpoint)
	routed := exactPath(path, endpoint, mux)
	for _, tt := range []struct {
		method, target string
		want           int
	}{
		{http.MethodPost, path, http.StatusTeapot},
		{http.MethodGet, path + "?x=1", http.StatusTeapot},
		{http.MethodPost, "/rp/backchannel%2Dlogout", http.StatusTeapot},
		{http.MethodPost, "/rp//backchannel-logout", http.StatusTemporaryRedirect},
		{http.MethodPost, "/rp/./backchannel-logout", http.StatusTemporaryRedirect},
		{http.MethodPost, "/x/../rp/backchannel-logout", http.StatusTemporaryRedirect},
		{http.MethodPost, path + "/", http.StatusNotFound},
		{http.MethodPost, "/rp/BACKCHANNEL-LOGOUT", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
		{http.MethodOptions, "*", http.StatusBadRequest},
		{http.MethodConnect, path, http.StatusNotFound},
	} {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			answer := func(h http.Handler) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(tt.method, "http://rp.example"+tt.target, nil))
				return w
			}
			if tt.target == "*" {
				answer = func(h http.Handler) *httptest.ResponseRecorder {
					r := httptest.NewRequest(tt.method, "http://rp.example/", nil)
					r.RequestURI, r.URL.Path = "*", "*"
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					return w
				}
			}
			got, want := answer(routed), answer(mux)
			if want.Code != tt.want {
				t.Fatalf("ServeMux answered %d, the table says %d", want.Code, tt.want)
			}
			if got.Code != want.Code || got.Header().Get("Location") != want.Header().Get("Location") {
				t.Errorf("answered %d (Location %q), ServeMux %d (Location %q)",
					got.Code, got.Header().Get("Location"), want.Code, want.Header().Get("Location"))
			}
		})
	}
}
