package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
)

// Load for BenchmarkInterleavedReceive: receiveClients keep-alive
// connections post receiveRound requests per round. A round of 256 lasted
// about 12 ms, short enough for a garbage collection or another process's
// time slice to move one round's ratio by 20%; a round of 2048 moves by
// about 4%.
const (
	receiveClients = 16
	receiveRound   = 2048
	// receiveMinQuads is the fewest quads the medians are read from,
	// whatever -benchtime.
	receiveMinQuads = 8
)

// BenchmarkInterleavedReceive reads the throughput of "bclogout receive",
// end to end over loopback under concurrent load, as a ratio to a bare
// net/http server that only parses the form and verifies the token's
// RS256 signature with crypto/rsa (baselineReceive), on the same requests
// from the same client.
//
// receive is the real command: run with its command line, discovering a
// test OP, its output on /dev/null as an *os.File so that each line is a
// write(2) as in the process. It runs in this process rather than as a
// built binary so that -cpuprofile and -memprofile see its request path,
// and so that the client, the receiver and the baseline share one runtime
// and two cores alike: both servers pay the same client.
//
// Each iteration is a quad of rounds, receive-baseline-baseline-receive or
// the reverse, alternating: each server runs once first and once last, so
// what the position costs (the first round after minting ran 15% slower,
// whichever server it was) cancels out of the quad's ratio. The tokens are
// fresh (each jti used once, as the replay cache demands), minted with the
// timer stopped and their garbage collected before the quad; both servers
// get the same ones. The median of the quads' ratios is reported as
// x-baseline (receive's time over the baseline's for the same requests:
// the goal is at most 1/0.9) and its inverse as throughput-ratio, beside
// each side's requests per second, and cpu-ratio: the same ratio of the
// process's CPU time (getrusage: client, servers and runtime), which
// holds where other processes take the cores and the wall clock moves.
// The goroutines carry the profile label server=receive or server=baseline
// (the client's, client=URL), so that "go tool pprof
// -tagfocus=server=receive" of a -cpuprofile shows one side's request
// path.
//
// With RECEIVE_BENCH_AA=1 in the environment a second bare baseline stands
// in for receive: the harness then reads about 1.0 (1.01 cpu-ratio on a
// machine at load 8), so the difference it reports is the receiver's.
func BenchmarkInterleavedReceive(b *testing.B) {
	op := newTestOP(b)
	pub := op.key.Signer.Public().(*rsa.PublicKey)
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()

	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{url: make(chan string, 1)}
	done := make(chan int, 1)
	go pprof.Do(ctx, pprof.Labels("server", "receive"), func(ctx context.Context) {
		done <- run(ctx, []string{"receive", "--issuer", op.issuer, "--client-id", "demo-rp", "--addr", "127.0.0.1:0"},
			strings.NewReader(""), devNull, io.MultiWriter(stderr, devNull))
	})
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			b.Errorf("receive exit %d:\n%s", code, stderr.String())
		}
	}()
	var receiveURL string
	select {
	case receiveURL = <-stderr.url:
	case code := <-done:
		b.Fatalf("receive exited %d before listening:\n%s", code, stderr.String())
	}
	baseURL := startBaselineReceiver(b, pub)

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * receiveClients,
		MaxIdleConnsPerHost: receiveClients,
		DisableCompression:  true,
	}}
	defer client.CloseIdleConnections()

	urls := [2]string{receiveURL, baseURL}
	if os.Getenv("RECEIVE_BENCH_AA") != "" {
		urls[0] = startBaselineReceiver(b, pub)
	}
	// Warm both servers' connections and code paths.
	warm := mintBodies(b, op, receiveClients*4)
	for _, u := range urls {
		if _, _, err := postRound(client, u, warm); err != nil {
			b.Fatal(err)
		}
	}

	var ratios, cpuRatios []float64
	var recvTotal, baseTotal time.Duration
	n := 0
	// The first receiveMinQuads quads run before b.Loop starts its timer:
	// they count in the ratios, not in b.N.
	for len(ratios) < receiveMinQuads || b.Loop() {
		b.StopTimer()
		bodies := mintBodies(b, op, 2*receiveRound)
		// Minting leaves garbage of its own: collected here, it is not
		// charged to whichever server runs first.
		runtime.GC()
		b.StartTimer()
		// receive, baseline, baseline, receive (or the reverse): each
		// server runs once first and once last, so what the position in
		// the quad costs cancels out of the ratio.
		var t, cpu [2][2]time.Duration // [server][half]
		order := [4]int{0, 1, 1, 0}
		if len(ratios)%2 == 1 {
			order = [4]int{1, 0, 0, 1}
		}
		for i, srv := range order {
			half := bodies[i/2*receiveRound : (i/2+1)*receiveRound]
			if t[srv][i/2], cpu[srv][i/2], err = postRound(client, urls[srv], half); err != nil {
				b.Fatal(err)
			}
		}
		tRecv, tBase := t[0][0]+t[0][1], t[1][0]+t[1][1]
		ratios = append(ratios, float64(tRecv)/float64(tBase))
		cpuRatios = append(cpuRatios, float64(cpu[0][0]+cpu[0][1])/float64(cpu[1][0]+cpu[1][1]))
		recvTotal += tRecv
		baseTotal += tBase
		n += 2 * receiveRound
		b.Logf("quad %d: receive %.0f req/s, baseline %.0f req/s, throughput ratio %.3f, cpu ratio %.3f",
			len(ratios), 2*receiveRound/tRecv.Seconds(), 2*receiveRound/tBase.Seconds(), float64(tBase)/float64(tRecv), 1/cpuRatios[len(cpuRatios)-1])
	}
	sorted := slices.Sorted(slices.Values(ratios))
	median := sorted[len(sorted)/2]
	b.ReportMetric(median, "x-baseline")
	b.ReportMetric(1/median, "throughput-ratio")
	sorted = slices.Sorted(slices.Values(cpuRatios))
	b.ReportMetric(1/sorted[len(sorted)/2], "cpu-ratio")
	b.ReportMetric(float64(n)/recvTotal.Seconds(), "req/s-receive")
	b.ReportMetric(float64(n)/baseTotal.Seconds(), "req/s-baseline")
}

// startBaselineReceiver serves baselineReceive on a bare net/http server:
// default settings, no logging, no output.
func startBaselineReceiver(b *testing.B, pub *rsa.PublicKey) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		baselineReceive(w, r, pub)
	})}
	go pprof.Do(context.Background(), pprof.Labels("server", "baseline"), func(context.Context) { _ = srv.Serve(ln) })
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/backchannel-logout"
}

// baselineReceive is the floor of a receiver: the form and one raw RSA
// verification of the token's signing input, nothing checked in between.
func baselineReceive(w http.ResponseWriter, r *http.Request, pub *rsa.PublicKey) {
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	tok := r.PostForm.Get("logout_token")
	dot := strings.LastIndexByte(tok, '.')
	if dot < 0 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h := sha256.Sum256([]byte(tok[:dot]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// mintBodies returns n form bodies, each a valid logout token of op for
// demo-rp with its own random jti, signed on both cores.
func mintBodies(b *testing.B, op *testOP, n int) []string {
	bodies := make([]string, n)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				tok, err := opkit.NewLogoutToken(op.issuer, "demo-rp", time.Now()).Sign(op.key)
				if err != nil {
					failed.Store(&err)
					return
				}
				bodies[i] = url.Values{"logout_token": {tok}}.Encode()
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return bodies
}

// postRound posts every body to u from receiveClients workers and returns
// the time until the last answer; any answer but 200 is an error.
func postRound(c *http.Client, u string, bodies []string) (time.Duration, time.Duration, error) {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start, startCPU := time.Now(), processCPU()
	for range receiveClients {
		wg.Go(func() {
			pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("client", u)))
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || failed.Load() != nil {
					return
				}
				resp, err := c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(bodies[i]))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: status %d", u, resp.StatusCode)
					}
				}
				if err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-startCPU
	if err := failed.Load(); err != nil {
		return 0, 0, *err
	}
	return elapsed, cpu, nil
}

// processCPU is the CPU time the process has used, user and system, all
// threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
