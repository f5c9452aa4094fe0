package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/jwks"
)

// op is a JWKS endpoint whose answer a test changes at will.
type op struct {
	srv     *httptest.Server
	fetches atomic.Int64

	mu     sync.Mutex
	status int
	body   []byte
	header http.Header
	gate   chan struct{} // when not nil, answers wait for it to close
}

func newOP(t testing.TB, body []byte) *op {
	t.Helper()
	o := &op{status: http.StatusOK, body: body}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.fetches.Add(1)
		o.mu.Lock()
		status, body, header, gate := o.status, o.body, o.header, o.gate
		o.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *op) serve(status int, body []byte, header http.Header) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status, o.body, o.header = status, body, header
}

func (o *op) hold() chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gate = make(chan struct{})
	return o.gate
}

func (o *op) release(gate chan struct{}) {
	o.mu.Lock()
	o.gate = nil
	o.mu.Unlock()
	close(gate)
}

// clock is a frozen clock the test advances.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }

var quiet = slog.New(slog.DiscardHandler)

// newRemote returns a Remote on a frozen clock whose background timers
// never fire, after its first fetch settled; it reports the fetch count
// at that point. Tests then count fetches from there.
func newRemote(t *testing.T, o *op, clk *clock, opts ...jwks.Option) (*jwks.Remote, int64) {
	t.Helper()
	opts = append([]jwks.Option{jwks.WithClock(clk.Now), jwks.WithLogger(quiet), jwks.WithFakeTimers(nil)}, opts...)
	r, err := jwks.NewRemote(o.srv.URL+"/jwks", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	_ = r.Refresh(context.Background()) // joins or follows the first fetch
	return r, o.fetches.Load()
}

func mustKeys(t *testing.T, r *jwks.Remote, kid string) *jwks.KeySet {
	t.Helper()
	set, err := r.Keys(context.Background(), kid)
	if err != nil {
		t.Fatalf("Keys(%q): %v", kid, err)
	}
	return set
}

func waitWaiters(t *testing.T, r *jwks.Remote, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.Waiters() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", r.Waiters(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRemoteRotationOnKidMiss(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	k2 := publicOf(t, genKey(t, "EC", "k2", "ES256"))
	o := newOP(t, setJSON(t, k1))
	r, base := newRemote(t, o, newClock())

	if got := kids(mustKeys(t, r, "k1")); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("kids = %v", got)
	}
	if n := o.fetches.Load() - base; n != 0 {
		t.Fatalf("known kid cost %d fetches", n)
	}
	o.serve(http.StatusOK, setJSON(t, k2), nil)
	if got := kids(mustKeys(t, r, "k2")); !slices.Equal(got, []string{"k2"}) {
		t.Fatalf("after rotation kids = %v, want [k2]", got)
	}
	if n := o.fetches.Load() - base; n != 1 {
		t.Fatalf("rotation cost %d fetches, want 1", n)
	}
	if got := kids(mustKeys(t, r, "")); !slices.Equal(got, []string{"k2"}) {
		t.Fatalf("kid-less lookup kids = %v", got)
	}
}

func TestRemoteKidMissRateLimit(t *testing.T) {
	o := newOP(t, setJSON(t, publicOf(t, genKey(t, "OKP", "k1", "EdDSA"))))
	clk := newClock()
	r, base := newRemote(t, o, clk, jwks.WithKidMissInterval(10*time.Second))

	// A limited miss waits for the next allowed fetch; a context already
	// done makes it answer at once, with the current set.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	steps := []struct {
		name    string
		advance time.Duration
		limited bool
		want    int64 // fetches since base after the lookup
	}{
		{name: "first miss fetches", want: 1},
		{name: "second miss at once is limited", limited: true, want: 1},
		{name: "9s later still limited", advance: 9 * time.Second, limited: true, want: 1},
		{name: "10s after the first miss fetches", advance: time.Second, want: 2},
		{name: "then limited again", limited: true, want: 2},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		ctx := context.Background()
		if s.limited {
			ctx = done
		}
		set, err := r.Keys(ctx, fmt.Sprintf("unknown-%d", i))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !hasKid(set, "k1") {
			t.Fatalf("%s: current set not returned", s.name)
		}
		if got := o.fetches.Load() - base; got != s.want {
			t.Fatalf("%s: %d fetches, want %d", s.name, got, s.want)
		}
	}
}

func hasKid(set *jwks.KeySet, kid string) bool {
	ok := lookup(set, kid) != nil
	return ok
}

func TestRemoteCollapsesConcurrentFetches(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
	k2 := publicOf(t, genKey(t, "RSA", "k2", ""))
	tests := []struct {
		name string
		call func(r *jwks.Remote, i int) error
	}{
		{name: "Refresh", call: func(r *jwks.Remote, _ int) error { return r.Refresh(context.Background()) }},
		{name: "kid miss", call: func(r *jwks.Remote, i int) error {
			set, err := r.Keys(context.Background(), "k2")
			if err == nil && !hasKid(set, "k2") {
				err = errors.New("rotated key not returned")
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOP(t, setJSON(t, k1))
			r, base := newRemote(t, o, newClock())
			o.serve(http.StatusOK, setJSON(t, k2), nil)
			gate := o.hold()

			const n = 50
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					if err := tt.call(r, i); err != nil {
						errs <- err
					}
				})
			}
			waitWaiters(t, r, n)
			o.release(gate)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got := o.fetches.Load() - base; got != 1 {
				t.Fatalf("%d concurrent callers cost %d fetches, want 1", n, got)
			}
		})
	}
}

func TestRemoteKeepsLastGood(t *testing.T) {
	good := publicOf(t, genKey(t, "RSA", "good", "RS256"))
	private := genKey(t, "EC", "private", "ES256")
	tests := []struct {
		name    string
		status  int
		body    []byte
		hang    bool
		wantErr error
	}{
		{name: "500", status: 500, body: []byte("oops"), wantErr: jwks.ErrFetch},
		{name: "404", status: 404, wantErr: jwks.ErrFetch},
		{name: "html", status: 200, body: []byte("<html>maintenance</html>"), wantErr: jwks.ErrInvalidJWKS},
		{name: "truncated json", status: 200, body: []byte(`{"keys":[{"kty":"RSA"`), wantErr: jwks.ErrInvalidJWKS},
		{name: "empty set", status: 200, body: []byte(`{"keys":[]}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "no keys member", status: 200, body: []byte(`{}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "only private keys", status: 200, body: setJSON(t, private), wantErr: jwks.ErrInvalidJWKS},
		{name: "only unknown key types", status: 200, body: []byte(`{"keys":[{"kty":"ML-DSA","kid":"pq"}]}`), wantErr: jwks.ErrInvalidJWKS},
		{name: "oversize", status: 200, body: make([]byte, 1<<20+1), wantErr: jwks.ErrFetch},
		{name: "timeout", hang: true, wantErr: jwks.ErrFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOP(t, setJSON(t, good))
			var hooked []error
			var hookMu sync.Mutex
			hook := func(url string, err error) {
				hookMu.Lock()
				defer hookMu.Unlock()
				hooked = append(hooked, err)
			}
			client := &http.Client{Timeout: 200 * time.Millisecond}
			r, _ := newRemote(t, o, newClock(), jwks.WithHTTPClient(client), jwks.WithOnRefresh(hook))
			if err := r.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.hang {
				gate := o.hold()
				defer o.release(gate)
			} else {
				o.serve(tt.status, tt.body, nil)
			}

			err := r.Refresh(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Refresh err = %v, want %v", err, tt.wantErr)
			}
			for _, kid := range []string{"good", "unknown"} {
				if set := mustKeys(t, r, kid); !hasKid(set, "good") {
					t.Fatalf("Keys(%q) lost the last good set: %v", kid, kids(set))
				}
			}
			hookMu.Lock()
			defer hookMu.Unlock()
			if len(hooked) < 2 || !errors.Is(hooked[len(hooked)-1], tt.wantErr) {
				t.Fatalf("OnRefresh saw %v, want a last error %v", hooked, tt.wantErr)
			}
		})
	}
}

func TestRemoteFirstFetchFailsThenRecovers(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	o := newOP(t, nil)
	o.serve(http.StatusServiceUnavailable, nil, nil)
	clk := newClock()
	r, base := newRemote(t, o, clk)

	_, err := r.Keys(context.Background(), "k1")
	if !errors.Is(err, jwks.ErrFetch) {
		t.Fatalf("err = %v, want ErrFetch", err)
	}
	o.serve(http.StatusOK, setJSON(t, k1), nil)
	// Within the kid-miss interval the miss waits for the next allowed
	// fetch; a context already done ends the wait at once.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Keys(done, "k1"); !errors.Is(err, jwks.ErrFetch) {
		t.Fatalf("within the kid-miss interval: err = %v, want ErrFetch", err)
	}
	if got := o.fetches.Load() - base; got != 1 {
		t.Fatalf("%d fetches, want 1", got)
	}
	clk.Advance(jwks.DefaultKidMissInterval)
	if set := mustKeys(t, r, "k1"); !hasKid(set, "k1") {
		t.Fatal("not recovered")
	}
}

func TestRemoteKeySelection(t *testing.T) {
	noAlg := publicOf(t, genKey(t, "RSA", "entra", ""))
	_ = noAlg.Set(jwk.KeyUsageKey, "sig")
	_ = noAlg.Set("x5t", "some-thumbprint")
	ed := publicOf(t, genKey(t, "OKP", "ed", ""))
	private := genKey(t, "EC", "leaked", "ES256")
	oct, _ := jwk.Import([]byte("secret secret secret secret secret"))
	_ = oct.Set(jwk.KeyIDKey, "hmac")
	// An OP may publish its encryption keys beside its signature keys.
	enc := publicOf(t, genKey(t, "RSA", "enc", ""))
	_ = enc.Set(jwk.KeyUsageKey, "enc")
	wrapOnly := publicOf(t, genKey(t, "RSA", "wrap", ""))
	_ = wrapOnly.Set(jwk.KeyOpsKey, jwk.KeyOperationList{jwk.KeyOpWrapKey})
	body := setJSON(t, noAlg, private, oct, enc, wrapOnly, ed)
	// An entry jwx cannot parse, as an OP adopting a new key type would publish.
	body = append(body[:len(body)-2], []byte(`,{"kty":"ML-DSA","kid":"pq","pub":"AAAA"}]}`)...)

	o := newOP(t, body)
	r, _ := newRemote(t, o, newClock())
	set := mustKeys(t, r, "")
	if got := kids(set); !slices.Equal(got, []string{"entra", "ed"}) {
		t.Fatalf("kids = %v, want [entra ed]", got)
	}
	k := lookup(set, "entra")
	if k.Algorithm() != "" {
		t.Error("a key without alg gained one")
	}
}

// The background schedule follows the OP's cache headers within the
// bounds and backs off after failures, and every wait is jittered: a
// refresh comes up to a tenth early, a retry after half to all of its
// backoff, so replicas that fetched together drift apart.
func TestRemoteSchedule(t *testing.T) {
	steps := []struct {
		name     string
		status   int
		header   http.Header
		whole    time.Duration // the timer armed after the fetch, without jitter
		earliest time.Duration // and with the most jitter
	}{
		{name: "max-age honoured", whole: 600 * time.Second, earliest: 540 * time.Second}, // the first fetch, at construction
		{name: "max-age below the lower bound", status: 200, header: http.Header{"Cache-Control": {"max-age=30"}}, whole: jwks.DefaultMinRefresh, earliest: jwks.DefaultMinRefresh * 9 / 10},
		{name: "failure retries soon", status: 500, whole: 10 * time.Second, earliest: 5 * time.Second},
		{name: "and backs off", status: 500, whole: 20 * time.Second, earliest: 10 * time.Second},
		{name: "recovery without cache headers", status: 200, whole: jwks.DefaultRefresh, earliest: 54 * time.Minute},
		{name: "max-age above the upper bound", status: 200, header: http.Header{"Cache-Control": {"max-age=31536000"}}, whole: jwks.DefaultMaxRefresh, earliest: jwks.DefaultMaxRefresh * 9 / 10},
	}
	for _, j := range []struct {
		name     string
		jitter   func(n int64) int64
		earliest bool
	}{
		{name: "no jitter", jitter: func(n int64) int64 { return n - 1 }},
		{name: "most jitter", jitter: func(int64) int64 { return 0 }, earliest: true},
	} {
		t.Run(j.name, func(t *testing.T) {
			k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
			o := newOP(t, setJSON(t, k1))
			o.serve(http.StatusOK, setJSON(t, k1), http.Header{"Cache-Control": {"public, max-age=600"}})
			asked := make(chan *jwks.FakeTimer, 16)
			r, err := jwks.NewRemote(o.srv.URL, jwks.WithClock(newClock().Now), jwks.WithLogger(quiet), jwks.WithFakeTimers(asked), jwks.WithJitter(j.jitter))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			next := func() *jwks.FakeTimer {
				t.Helper()
				select {
				case ft := <-asked:
					return ft
				case <-time.After(10 * time.Second):
					t.Fatal("the refresher armed no timer")
					return nil
				}
			}
			for i, s := range steps {
				want := s.whole
				if j.earliest {
					want = s.earliest
				}
				if i > 0 {
					o.serve(s.status, setJSON(t, k1), s.header)
					before := o.fetches.Load()
					next().Fire()
					ft := next()
					if got := o.fetches.Load() - before; got != 1 {
						t.Fatalf("%s: timer fired %d fetches, want 1", s.name, got)
					}
					if ft.D != want {
						t.Fatalf("%s: armed %v, want %v", s.name, ft.D, want)
					}
					asked <- ft // put it back for the next step to fire
					continue
				}
				ft := next()
				if ft.D != want {
					t.Fatalf("%s: armed %v, want %v", s.name, ft.D, want)
				}
				asked <- ft
			}
		})
	}
}

// Replicas that fetch together, with the default random jitter, arm
// different timers for their next refresh, each within its bounds.
func TestRemoteReplicasRefreshApart(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	o := newOP(t, setJSON(t, k1))
	o.serve(http.StatusOK, setJSON(t, k1), http.Header{"Cache-Control": {"max-age=3600"}})
	clk := newClock()
	armed := map[time.Duration]bool{}
	for range 8 {
		asked := make(chan *jwks.FakeTimer, 4)
		r, err := jwks.NewRemote(o.srv.URL, jwks.WithClock(clk.Now), jwks.WithLogger(quiet), jwks.WithFakeTimers(asked))
		if err != nil {
			t.Fatal(err)
		}
		var ft *jwks.FakeTimer
		select {
		case ft = <-asked:
		case <-time.After(10 * time.Second):
			t.Fatal("the refresher armed no timer")
		}
		_ = r.Close()
		if ft.D < 54*time.Minute || ft.D > time.Hour {
			t.Errorf("armed %v, want within [54m, 1h]", ft.D)
		}
		armed[ft.D] = true
	}
	if len(armed) < 2 {
		t.Errorf("8 replicas armed %v: they refresh in lockstep", armed)
	}
}

func TestRefreshDelay(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	date := now.Add(-time.Minute).Format(http.TimeFormat) // the OP's clock is a minute behind
	const lo, hi = 5 * time.Minute, 24 * time.Hour
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "no headers", want: time.Hour},
		{name: "max-age", header: http.Header{"Cache-Control": {"max-age=7200"}}, want: 2 * time.Hour},
		{name: "max-age among directives", header: http.Header{"Cache-Control": {"public, must-revalidate, max-age=7200"}}, want: 2 * time.Hour},
		{name: "max-age minus Age", header: http.Header{"Cache-Control": {"max-age=7200"}, "Age": {"3600"}}, want: time.Hour},
		{name: "Age beyond max-age", header: http.Header{"Cache-Control": {"max-age=600"}, "Age": {"6000"}}, want: lo},
		{name: "max-age too small", header: http.Header{"Cache-Control": {"max-age=0"}}, want: lo},
		{name: "max-age too large", header: http.Header{"Cache-Control": {"max-age=99999999999999"}}, want: hi},
		{name: "no-cache", header: http.Header{"Cache-Control": {"max-age=7200, no-cache"}}, want: lo},
		{name: "no-store", header: http.Header{"Cache-Control": {"no-store"}}, want: lo},
		{name: "bad max-age", header: http.Header{"Cache-Control": {"max-age=soon"}}, want: time.Hour},
		{name: "max-age wins over Expires", header: http.Header{"Cache-Control": {"max-age=7200"}, "Expires": {now.Add(10 * time.Hour).Format(http.TimeFormat)}}, want: 2 * time.Hour},
		{name: "Expires against Date", header: http.Header{"Date": {date}, "Expires": {now.Add(3 * time.Hour).Format(http.TimeFormat)}}, want: 3*time.Hour + time.Minute},
		{name: "Expires against now", header: http.Header{"Expires": {now.Add(3 * time.Hour).Format(http.TimeFormat)}}, want: 3 * time.Hour},
		// RFC 9111 §4.2.3: a cache in between says how long it held the
		// answer, and that time is gone from the Expires lifetime too.
		{name: "Expires against Date minus Age", header: http.Header{"Date": {date}, "Expires": {now.Add(3 * time.Hour).Format(http.TimeFormat)}, "Age": {"3600"}}, want: 2*time.Hour + time.Minute},
		{name: "Expires against now minus Age", header: http.Header{"Expires": {now.Add(3 * time.Hour).Format(http.TimeFormat)}, "Age": {"3600"}}, want: 2 * time.Hour},
		{name: "Age beyond Expires", header: http.Header{"Date": {date}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}, "Age": {"7200"}}, want: lo},
		{name: "huge Age with Expires", header: http.Header{"Expires": {now.Add(time.Hour).Format(http.TimeFormat)}, "Age": {"99999999999999"}}, want: lo},
		{name: "Expires centuries before Date, with Age", header: http.Header{"Date": {date}, "Expires": {"Mon, 01 Jan 0001 00:00:00 GMT"}, "Age": {"60"}}, want: lo},
		{name: "Expires in the past", header: http.Header{"Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}}, want: lo},
		{name: "invalid Expires", header: http.Header{"Expires": {"0"}}, want: lo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jwks.RefreshDelay(tt.header, now, lo, hi); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewRemoteConfig(t *testing.T) {
	offline := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("offline")
	})}
	tests := []struct {
		name    string
		url     string
		opts    []jwks.Option
		wantErr error
	}{
		{name: "https", url: "https://op.example/jwks"},
		{name: "http 127.0.0.1", url: "http://127.0.0.1:1/jwks"},
		{name: "http ::1", url: "http://[::1]:1/jwks"},
		{name: "http localhost", url: "http://localhost:1/jwks"},
		{name: "http non-loopback", url: "http://op.example/jwks", wantErr: errs.ErrInvalidConfig},
		{name: "http localhost lookalike", url: "http://localhost.evil.com/jwks", wantErr: errs.ErrInvalidConfig},
		{name: "http allowed explicitly", url: "http://keycloak:8080/jwks", opts: []jwks.Option{jwks.WithInsecureAllowHTTP()}},
		{name: "relative", url: "/jwks", wantErr: errs.ErrInvalidConfig},
		{name: "zero lower bound", url: "https://op.example/jwks", opts: []jwks.Option{jwks.WithRefreshBounds(0, time.Hour)}, wantErr: errs.ErrInvalidConfig},
		{name: "inverted bounds", url: "https://op.example/jwks", opts: []jwks.Option{jwks.WithRefreshBounds(time.Hour, time.Minute)}, wantErr: errs.ErrInvalidConfig},
		{name: "negative kid-miss interval", url: "https://op.example/jwks", opts: []jwks.Option{jwks.WithKidMissInterval(-1)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil clock", url: "https://op.example/jwks", opts: []jwks.Option{jwks.WithClock(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil logger", url: "https://op.example/jwks", opts: []jwks.Option{jwks.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil client", url: "https://op.example/jwks", opts: []jwks.Option{jwks.WithHTTPClient(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil option", url: "https://op.example/jwks", opts: []jwks.Option{nil}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]jwks.Option{jwks.WithHTTPClient(offline), jwks.WithLogger(quiet)}, tt.opts...)
			r, err := jwks.NewRemote(tt.url, opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			// Every constructor error is a configuration error.
			if err != nil && !errors.Is(err, errs.ErrInvalidConfig) {
				t.Errorf("err = %v does not wrap ErrInvalidConfig", err)
			}
			if err == nil {
				// Constructed although no fetch can succeed.
				if _, err := r.Keys(context.Background(), ""); !errors.Is(err, jwks.ErrFetch) {
					t.Errorf("Keys err = %v, want ErrNoKeys", err)
				}
				_ = r.Close()
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRemoteCloseStopsEverything(t *testing.T) {
	o := newOP(t, setJSON(t, publicOf(t, genKey(t, "RSA", "k1", ""))))
	before := runtime.NumGoroutine()

	// Real timers and the default client: what a user gets.
	r, err := jwks.NewRemote(o.srv.URL, jwks.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Leave a fetch in flight, hanging on the OP, for Close to cancel.
	gate := o.hold()
	defer o.release(gate)
	refreshed := make(chan error, 1)
	go func() { refreshed <- r.Refresh(context.Background()) }()
	waitWaiters(t, r, 1)

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-refreshed; !errors.Is(err, jwks.ErrFetch) {
		t.Fatalf("fetch cut by Close: err = %v, want ErrFetch", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := r.Refresh(context.Background()); !errors.Is(err, jwks.ErrFetch) {
		t.Fatalf("Refresh after Close: err = %v", err)
	}
	if set := mustKeys(t, r, "other"); !hasKid(set, "k1") {
		t.Fatal("Keys after Close lost the last set")
	}
	o.srv.CloseClientConnections()

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRemoteKeysContextEnds(t *testing.T) {
	o := newOP(t, nil)
	o.serve(http.StatusInternalServerError, nil, nil)
	r, _ := newRemote(t, o, newClock())
	o.serve(http.StatusOK, setJSON(t, publicOf(t, genKey(t, "RSA", "k1", ""))), nil)
	gate := o.hold()
	defer o.release(gate)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Keys(ctx, "k1")
		done <- err
	}()
	waitWaiters(t, r, 1)
	cancel()
	if err := <-done; !errors.Is(err, jwks.ErrFetch) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrNoKeys and context.Canceled", err)
	}
}
