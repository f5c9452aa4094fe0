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
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
)

// Load for BenchmarkInterleavedReceive: receiveClients keep-alive
// connections post receiveRound requests per round. Short rounds make many
// pairs in the default benchtime, so the median holds on a machine that
// other work shares.
const (
	receiveClients = 16
	receiveRound   = 256
	// receiveMinPairs is the fewest pairs of rounds the median is read
	// from, whatever -benchtime: the default second holds about a dozen.
	receiveMinPairs = 31
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
// Each iteration is one round of each server, the order alternating, over
// fresh tokens (each jti used once, as the replay cache demands); the
// median of the per-round ratios is reported as x-baseline (receive's time
// over the baseline's for the same requests: the goal is at most 1/0.9)
// and its inverse as throughput-ratio, beside each side's requests per
// second. Its goroutines carry the profile label server=receive or
// server=baseline (the client's, client=URL), so that
// "go tool pprof -tagfocus=server=receive" of a -cpuprofile shows one
// side's request path; token minting runs with the timer stopped.
//
// Run against two bare baseline servers, the harness reads 0.97-1.02: the
// difference it reports is the receiver's.
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

	// Warm both servers' connections and code paths.
	warm := mintBodies(b, op, receiveClients*4)
	for _, u := range []string{receiveURL, baseURL} {
		if _, err := postRound(client, u, warm); err != nil {
			b.Fatal(err)
		}
	}

	var ratios []float64
	var recvTotal, baseTotal time.Duration
	n := 0
	// The first receiveMinPairs pairs run before b.Loop starts its timer:
	// they count in the ratios, not in b.N.
	for len(ratios) < receiveMinPairs || b.Loop() {
		b.StopTimer()
		bodies := mintBodies(b, op, receiveRound)
		b.StartTimer()
		var tRecv, tBase time.Duration
		first, second := &tRecv, &tBase
		firstURL, secondURL := receiveURL, baseURL
		if len(ratios)%2 == 1 {
			first, second, firstURL, secondURL = second, first, secondURL, firstURL
		}
		if *first, err = postRound(client, firstURL, bodies); err != nil {
			b.Fatal(err)
		}
		if *second, err = postRound(client, secondURL, bodies); err != nil {
			b.Fatal(err)
		}
		ratios = append(ratios, float64(tRecv)/float64(tBase))
		recvTotal += tRecv
		baseTotal += tBase
		n += receiveRound
		b.Logf("round %d: receive %.0f req/s, baseline %.0f req/s, throughput ratio %.3f",
			len(ratios), receiveRound/tRecv.Seconds(), receiveRound/tBase.Seconds(), float64(tBase)/float64(tRecv))
	}
	sorted := slices.Sorted(slices.Values(ratios))
	median := sorted[len(sorted)/2]
	b.ReportMetric(median, "x-baseline")
	b.ReportMetric(1/median, "throughput-ratio")
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
func postRound(c *http.Client, u string, bodies []string) (time.Duration, error) {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
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
	elapsed := time.Since(start)
	if err := failed.Load(); err != nil {
		return 0, *err
	}
	return elapsed, nil
}
