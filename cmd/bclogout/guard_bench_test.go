package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"
	"time"
)

// benchLatency requests url with c b.N times and reports the median and
// the 99th percentile of the request latency beside the mean (ns/op).
func benchLatency(b *testing.B, c *http.Client, url string, header http.Header) {
	b.Helper()
	var lat []time.Duration
	for b.Loop() {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// The guard in upstream mode beside its baseline, a plain
// httputil.ReverseProxy to the same app: the difference is reading and
// verifying the ID token (an RS256 signature) and the in-memory
// revocation lookup.
func BenchmarkGuardUpstream(b *testing.B) {
	fx := newGuardFixture(b, nil)
	_, tok := fx.login(b, "alice")
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "app")
	}))
	b.Cleanup(app.Close)
	u, _ := url.Parse(app.URL)
	direct := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }})
	b.Cleanup(direct.Close)

	b.Run("baseline=reverse-proxy", func(b *testing.B) {
		benchLatency(b, direct.Client(), direct.URL+"/", bearer(tok))
	})
	b.Run("guard", func(b *testing.B) {
		benchLatency(b, fx.srv.Client(), fx.srv.URL+"/", bearer(tok))
	})
}

// What the guard adds behind a real oauth2-proxy: oauth2-proxy → guard →
// app beside the baseline oauth2-proxy → app, one signed-in browser each.
func BenchmarkGuardBehindOAuth2Proxy(b *testing.B) {
	s := newOAuth2ProxySetup(b, needOAuth2Proxy(b), oauth2ProxyOptions{baseline: true})
	b.Run("baseline=oauth2-proxy", func(b *testing.B) {
		benchLatency(b, s.signIn(b, s.direct, "alice"), s.direct+"/", nil)
	})
	b.Run("oauth2-proxy+guard", func(b *testing.B) {
		benchLatency(b, s.signIn(b, s.proxy, "alice"), s.proxy+"/", nil)
	})
}
