package rp_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// handlerBenchPool is how many distinct tokens the handler benchmarks
// cycle through: each accepted token consumes its jti, so the handler gets
// a fresh replay cache (outside the timer) every time the pool comes round.
const handlerBenchPool = 256

var (
	handlerBenchOnce   sync.Once
	handlerBenchBodies []string
)

// handlerBenchBodies mints the pool once per test binary: Keycloak-like
// RS256 tokens, each with its own jti, as form bodies.
func benchBodies(b *testing.B) []string {
	handlerBenchOnce.Do(func() {
		for i := range handlerBenchPool {
			tok := mint(b, both(setClaim("typ", "Logout"), setClaim("jti", fmt.Sprintf("5f0c8e0e-%04d-4f1b-9d39-2c8f6b0a7e11", i))))
			handlerBenchBodies = append(handlerBenchBodies, url.Values{"logout_token": {tok}}.Encode())
		}
	})
	return handlerBenchBodies
}

// benchRequest is one reusable POST: the loop resets its body rather than
// building a request, so the harness costs both benchmarks the same little.
type benchRequest struct {
	r    *http.Request
	body *strings.Reader
}

func newBenchRequest(body string) *benchRequest {
	br := &benchRequest{body: strings.NewReader(body)}
	br.r = &http.Request{
		Method:     http.MethodPost,
		URL:        &url.URL{Path: "/backchannel-logout"},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body:          io.NopCloser(br.body),
		ContentLength: int64(len(body)),
		Host:          "rp.example.com",
	}
	br.r = br.r.WithContext(context.Background())
	return br
}

func (br *benchRequest) reset(body string) *http.Request {
	br.body.Reset(body)
	br.r.Form, br.r.PostForm = nil, nil
	return br.r
}

// benchWriter is a ResponseWriter that keeps only the status.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }

func (w *benchWriter) reset() *benchWriter {
	clear(w.h)
	w.status = 0
	return w
}

// BenchmarkHandlerRS256 is a whole accepted logout through ServeHTTP: the
// form, strict parsing, the RS256 signature, the claims, the in-memory
// replay cache (Seen, then Record) and the in-memory session store,
// logging at the default Info level. BenchmarkBaselineHandlerRS256 does
// only what no receiver can skip on the same requests: parse the form and
// verify the signature with crypto/rsa. Their ratio is the handler's
// overhead.
func BenchmarkHandlerRS256(b *testing.B) {
	bodies := benchBodies(b)
	v := newVerifier(b, nil)
	sessions, err := sessionadapter.NewMemory(sessionadapter.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	newHandler := func() http.Handler {
		cache := clockCache(clock)
		h, err := rp.NewHandler(v, sessions, rp.WithReplayCache(cache), rp.WithLogger(quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	h := newHandler()
	req := newBenchRequest(bodies[0])
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(bodies) {
			b.StopTimer()
			h, i = newHandler(), 0
			b.StartTimer()
		}
		h.ServeHTTP(w.reset(), req.reset(bodies[i]))
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
		i++
	}
}

func BenchmarkBaselineHandlerRS256(b *testing.B) {
	bodies := benchBodies(b)
	pub := &keys(b).rsa.PublicKey
	req := newBenchRequest(bodies[0])
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(bodies) {
			i = 0
		}
		baselineReceive(w.reset(), req.reset(bodies[i]), pub)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
		i++
	}
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

// BenchmarkInterleavedHandlerRS256 reads the handler's ratio to its
// baseline from alternating runs of the two (see interleaved).
func BenchmarkInterleavedHandlerRS256(b *testing.B) {
	bodies := benchBodies(b)
	v := newVerifier(b, nil)
	sessions, err := sessionadapter.NewMemory(sessionadapter.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	newHandler := func() http.Handler {
		cache := clockCache(clock)
		h, err := rp.NewHandler(v, sessions, rp.WithReplayCache(cache), rp.WithLogger(quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	h := newHandler()
	pub := &keys(b).rsa.PublicKey
	req, w := newBenchRequest(bodies[0]), &benchWriter{h: http.Header{}}
	i, j := 0, 0
	rp.Interleaved(b, func() {
		h.ServeHTTP(w.reset(), req.reset(bodies[i]))
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
		i++
	}, func() {
		baselineReceive(w.reset(), req.reset(bodies[j%len(bodies)]), pub)
		if w.status != http.StatusOK {
			b.Fatalf("baseline status %d", w.status)
		}
		j++
	}, func() {
		if i+16 > len(bodies) {
			h, i = newHandler(), 0 // every token's jti is consumed
		}
	})
}
