package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestOP(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout := &syncBuffer{url: make(chan string, 1), re: regexp.MustCompile(`^(http://\S+)\n`)}
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"op", "--addr", "127.0.0.1:0", "--client", "id=demo-rp,secret=s,redirect=http://127.0.0.1:1/cb,logout=http://127.0.0.1:1/backchannel-logout"}, strings.NewReader(""), stdout, &stderr)
	}()
	var issuer string
	select {
	case issuer = <-stdout.url:
	case code := <-done:
		t.Fatalf("op exited %d:\n%s", code, stderr.String())
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %s", resp.Status)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("op exit %d after cancel", code)
	}
}

func TestDemoCheck(t *testing.T) {
	code, out, errOut := runCmd(t, "", "demo", "--check", "--addr", "127.0.0.1:0", "--redis-url", "")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"valid logout token: 200 accepted (as expected)", "forged logout token: 400 rejected, reason signature (as expected)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
