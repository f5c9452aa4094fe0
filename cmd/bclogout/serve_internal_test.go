package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that sends its headers and then dribbles its body, or keeps an
// idle connection open, must not hold a goroutine and a socket of the
// receiver without end: the server cuts it off after its read timeout.
func TestServeCutsOffSlowBody(t *testing.T) {
	limits := serverLimits{read: 200 * time.Millisecond, write: time.Second, idle: 200 * time.Millisecond}
	tests := []struct {
		name string
		send string // written at once; the connection then stays silent
	}{
		{name: "slow body", send: "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nlogout_token="},
		{name: "idle keep-alive", send: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
			})
			go func() { done <- serveWith(ctx, ln, h, slog.New(slog.DiscardHandler), limits, nil) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			})

			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.send); err != nil {
				t.Fatal(err)
			}
			// Far beyond the limits, far below forever.
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			rd := bufio.NewReader(conn)
			for {
				line, err := rd.ReadString('\n')
				if err == io.EOF || (err != nil && !isTimeout(err)) {
					return // cut off by the server
				}
				if err != nil {
					t.Fatal("the server still holds the connection after 5 s")
				}
				_ = strings.TrimSpace(line) // a response to the idle request; keep reading
			}
		})
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
