package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

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
	if err := out.close(t.Context()); err != nil {
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
