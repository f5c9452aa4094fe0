package main

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeDemoStops runs `make demo` from the repository root and stops it
// as a user does: Ctrl-C (SIGINT to the terminal's foreground process
// group) and SIGTERM to make alone (an IDE's stop button, timeout(1)). Each
// time make must exit, no process of its group may be left, and every port
// the demo listened on must be free. With `go run` in the recipe, SIGTERM
// killed the go command and orphaned the demo, which kept its ports.
func TestMakeDemoStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the demo through make")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	bin := t.TempDir() + "/bclogout"
	tests := []struct {
		name string
		stop func(pid int) error
	}{
		{"ctrl-c", func(pid int) error { return syscall.Kill(-pid, syscall.SIGINT) }},
		{"sigterm to make", func(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(makeBin, "-s", "-C", "../..", "demo", "DEMO_BIN="+bin, "ARGS=--addr 127.0.0.1:0")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, as a shell job
			out, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = w, w
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			pgid := cmd.Process.Pid
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })

			addrs, log := readDemoAddrs(t, out)
			if len(addrs) < 4 {
				t.Fatalf("demo listed %v; output:\n%s", addrs, log)
			}
			for _, a := range addrs {
				if !listening(a) {
					t.Fatalf("%s is not listening while the demo runs", a)
				}
			}
			if err := tt.stop(pgid); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(time.Minute): // a bound on a hang, not a timing claim
				t.Fatal("make did not exit within a minute")
			}
			if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("a process of make's group survived it (kill -0: %v)", err)
			}
			for _, a := range addrs {
				if listening(a) {
					t.Errorf("%s still accepts connections after make exited", a)
				}
			}
		})
	}
}

var demoURL = regexp.MustCompile(`http://(127\.0\.0\.1:[0-9]+)/`)

// readDemoAddrs reads the demo's output up to its "Ctrl-C stops the demo"
// line and returns the addresses it printed; the rest is drained.
func readDemoAddrs(t *testing.T, out *os.File) ([]string, string) {
	t.Helper()
	sc := bufio.NewScanner(out)
	var addrs []string
	var log strings.Builder
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		for _, m := range demoURL.FindAllStringSubmatch(line, -1) {
			addrs = append(addrs, m[1])
		}
		if strings.Contains(line, "Ctrl-C stops the demo") {
			go func() {
				for sc.Scan() {
				}
				out.Close()
			}()
			return addrs, log.String()
		}
	}
	out.Close()
	return nil, log.String()
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
