package jwks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/jwks"
)

// op is a JWKS endpoint whose answer a test changes at will. Tests that
// step time reach it in process (client), inside a synctest bubble; tests
// of the transport itself reach it over a real server (listen).
type op struct {
	fetches atomic.Int64

	mu     sync.Mutex
	status int
	body   []byte
	header http.Header
	gate   chan struct{} // when not nil, answers wait for it to close
	held   chan struct{} // an answer held at gate sends here first, if there is room
	at     []time.Time   // when each request arrived
}

func newOP(t testing.TB, body []byte) *op {
	t.Helper()
	return &op{status: http.StatusOK, body: body}
}

func (o *op) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.fetches.Add(1)
	o.mu.Lock()
	o.at = append(o.at, time.Now())
	status, body, header, gate, held := o.status, o.body, o.header, o.gate, o.held
	o.mu.Unlock()
	if gate != nil {
		select {
		case held <- struct{}{}:
		default:
		}
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
}

// client reaches the OP without a socket: its transport calls the handler
// in the fetching goroutine. In a synctest bubble a goroutine blocked on
// the network is never durably blocked, so bubble time would not move (and
// idle connections would outlive the bubble); a handler blocked on the
// gate, a channel of the bubble, is.
func (o *op) client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		o.ServeHTTP(rec, req)
		// As a real transport: a request whose context ended has no answer.
		if err := req.Context().Err(); err != nil {
			return nil, err
		}
		return rec.Result(), nil
	})}
}

// listen serves the OP on a real server, for tests of the transport.
func (o *op) listen(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return srv
}

// arrivals returns when each request so far arrived.
func (o *op) arrivals() []time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.at)
}

func (o *op) serve(status int, body []byte, header http.Header) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status, o.body, o.header = status, body, header
}

// hold makes answers wait until release. The first answer held sends on
// o.held, for a test outside a bubble to know a request arrived.
func (o *op) hold() chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gate, o.held = make(chan struct{}), make(chan struct{}, 1)
	return o.gate
}

func (o *op) release(gate chan struct{}) {
	o.mu.Lock()
	o.gate = nil
	o.mu.Unlock()
	close(gate)
}

var quiet = slog.New(slog.DiscardHandler)

// newRemote returns a Remote that reaches o in process, once its first
// fetch, the only one, settled, and the fetch count at that point: tests
// count fetches from there. It runs in a synctest bubble, whose clock the
// Remote's timers then follow.
func newRemote(t *testing.T, o *op, opts ...jwks.Option) (*jwks.Remote, int64) {
	t.Helper()
	opts = append([]jwks.Option{jwks.WithHTTPClient(o.client()), jwks.WithLogger(quiet)}, opts...)
	r, err := jwks.NewRemote("https://op.example/jwks", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	synctest.Wait()
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

func TestRemoteRotationOnKidMiss(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	k2 := publicOf(t, genKey(t, "EC", "k2", "ES256"))
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o)

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
	})
}

func TestRemoteKidMissRateLimit(t *testing.T) {
	k1 := publicOf(t, genKey(t, "OKP", "k1", "EdDSA"))
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o, jwks.WithKidMissInterval(10*time.Second))

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
			time.Sleep(s.advance)
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
	})
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
		{name: "RefreshNow", call: func(r *jwks.Remote, _ int) error { return r.RefreshNow(context.Background()) }},
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
			synctest.Test(t, func(t *testing.T) {
				o := newOP(t, setJSON(t, k1))
				r, base := newRemote(t, o)
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
				synctest.Wait() // every caller waits
				if got := r.Waiters(); got != n {
					t.Fatalf("%d waiters, want %d", got, n)
				}
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
		})
	}
}

// The last good set survives every failure, on the real transport: its
// timeout and the body limit are part of what is tested.
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
			// The background schedule's first retry is 5 s away at the
			// soonest, well after the test.
			client := &http.Client{Timeout: 200 * time.Millisecond}
			r, err := jwks.NewRemote(o.listen(t).URL+"/jwks", jwks.WithHTTPClient(client), jwks.WithLogger(quiet), jwks.WithOnRefresh(hook))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			if err := r.RefreshNow(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.hang {
				gate := o.hold()
				defer o.release(gate)
			} else {
				o.serve(tt.status, tt.body, nil)
			}

			err = r.RefreshNow(context.Background())
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
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, nil)
		o.serve(http.StatusServiceUnavailable, nil, nil)
		r, base := newRemote(t, o)

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
		time.Sleep(jwks.DefaultKidMissInterval)
		if set := mustKeys(t, r, "k1"); !hasKid(set, "k1") {
			t.Fatal("not recovered")
		}
		if got := o.fetches.Load() - base; got != 2 {
			t.Fatalf("%d fetches, want 2", got)
		}
	})
}

// A fetch that hangs, through a client without a timeout, is given up
// after 30 s and retried with the backoff: it never holds back the fetches
// after it, and a rotated key is found once the OP answers again.
func TestRemoteHungFetchIsBounded(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	k2 := publicOf(t, genKey(t, "RSA", "k2", "RS256"))
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o)
		gate := o.hold() // the OP accepts the next request and never answers
		o.serve(http.StatusOK, setJSON(t, k2), nil)
		start := time.Now()
		if set := mustKeys(t, r, "k2"); hasKid(set, "k2") {
			t.Fatal("k2 found while the OP hangs")
		}
		time.Sleep(30 * time.Second) // the hung fetch's bound
		synctest.Wait()
		o.release(gate)
		// The next kid miss fetches again, and finds the rotated key.
		set, err := r.Keys(context.Background(), "k2")
		if err != nil || !hasKid(set, "k2") {
			t.Fatalf("after the hung fetch was given up: %v, %v", kids(set), err)
		}
		if n := o.fetches.Load() - base; n != 2 {
			t.Errorf("%d fetches, want 2: the hung one and the next", n)
		}
		if d := time.Since(start); d > 32*time.Second {
			t.Errorf("the rotated key was found after %v", d)
		}
	})
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
	body = append(body[:len(body)-2], []byte(`,{"kty":"ML-DSA","kid":"pq","pub":"AAAA"}`)...)
	// An OP that "publishes" its private key by deleting "d" leaves p, q,
	// dp, dq and qi, any of which reveals the key (RFC 7518 §6.3.2).
	for _, member := range []string{"p", "q", "dp", "dq", "qi"} {
		body = append(body, ',')
		body = append(body, rsaWithout(t, member)...)
	}
	// An Ed25519 key of small order (here y = 0, of order 4): Ed25519
	// verification accepts a signature anyone makes for it.
	body = append(body, `,{"kty":"OKP","crv":"Ed25519","kid":"order-4","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`...)
	body = append(body, "]}"...)

	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, body)
		r, _ := newRemote(t, o)
		set := mustKeys(t, r, "")
		if got := kids(set); !slices.Equal(got, []string{"entra", "ed"}) {
			t.Fatalf("kids = %v, want [entra ed]", got)
		}
		k := lookup(set, "entra")
		if k.Algorithm() != "" {
			t.Error("a key without alg gained one")
		}
	})
}

// rsaWithout returns a private RSA JWK whose kid is "only-"+keep, without
// "d" and every other private member but keep.
func rsaWithout(t *testing.T, keep string) []byte {
	t.Helper()
	b, err := json.Marshal(genKey(t, "RSA", "only-"+keep, "RS256"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if member != keep {
			delete(m, member)
		}
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return b
}

// The background schedule follows the OP's cache headers within the
// bounds and backs off after failures, and every wait is jittered: a
// refresh comes up to a tenth early, a retry after half to all of its
// backoff, so replicas that fetched together drift apart. On the bubble's
// clock a fetch takes no time, so the OP sees each fetch exactly one wait
// after the one before.
func TestRemoteSchedule(t *testing.T) {
	steps := []struct {
		name     string
		status   int // the answer to this step's fetch
		header   http.Header
		whole    time.Duration // the wait before the next fetch, without jitter
		earliest time.Duration // and with the most jitter
	}{
		{name: "max-age honoured", status: 200, header: http.Header{"Cache-Control": {"public, max-age=600"}}, whole: 600 * time.Second, earliest: 540 * time.Second}, // the first fetch, at construction
		{name: "max-age below the lower bound", status: 200, header: http.Header{"Cache-Control": {"max-age=30"}}, whole: jwks.DefaultMinRefresh, earliest: jwks.DefaultMinRefresh * 9 / 10},
		{name: "failure retries soon", status: 500, whole: 10 * time.Second, earliest: 5 * time.Second},
		{name: "and backs off", status: 500, whole: 20 * time.Second, earliest: 10 * time.Second},
		{name: "recovery without cache headers", status: 200, whole: jwks.DefaultRefresh, earliest: 54 * time.Minute},
		{name: "max-age above the upper bound", status: 200, header: http.Header{"Cache-Control": {"max-age=31536000"}}, whole: jwks.DefaultMaxRefresh, earliest: jwks.DefaultMaxRefresh * 9 / 10},
	}
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	body := setJSON(t, k1)
	for _, j := range []struct {
		name     string
		jitter   func(n int64) int64
		earliest bool
	}{
		{name: "no jitter", jitter: func(n int64) int64 { return n - 1 }},
		{name: "most jitter", jitter: func(int64) int64 { return 0 }, earliest: true},
	} {
		t.Run(j.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := newOP(t, body)
				o.serve(steps[0].status, body, steps[0].header)
				newRemote(t, o, jwks.WithJitter(j.jitter))
				for i, s := range steps {
					want := s.whole
					if j.earliest {
						want = s.earliest
					}
					next := steps[min(i+1, len(steps)-1)]
					o.serve(next.status, body, next.header)

					time.Sleep(want - time.Nanosecond)
					synctest.Wait()
					if n := len(o.arrivals()) - (i + 1); n != 0 {
						t.Fatalf("%s: %d fetches before %v passed, want 0", s.name, n, want)
					}
					time.Sleep(time.Nanosecond)
					synctest.Wait()
					at := o.arrivals()
					if n := len(at) - (i + 1); n != 1 {
						t.Fatalf("%s: %d fetches when %v passed, want 1", s.name, n, want)
					}
					if got := at[i+1].Sub(at[i]); got != want {
						t.Fatalf("%s: next fetch %v later, want %v", s.name, got, want)
					}
				}
			})
		})
	}
}

// Replicas that fetch together, with the default random jitter, fetch
// next at different times, each within its bounds.
func TestRemoteReplicasRefreshApart(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", "RS256"))
	body := setJSON(t, k1)
	synctest.Test(t, func(t *testing.T) {
		var ops []*op
		for range 8 {
			o := newOP(t, body)
			o.serve(http.StatusOK, body, http.Header{"Cache-Control": {"max-age=3600"}})
			newRemote(t, o)
			ops = append(ops, o)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		waited := map[time.Duration]bool{}
		for _, o := range ops {
			at := o.arrivals()
			if len(at) != 2 {
				t.Fatalf("%d fetches within the hour, want 2", len(at))
			}
			d := at[1].Sub(at[0])
			if d < 54*time.Minute || d > time.Hour {
				t.Errorf("next fetch %v later, want within [54m, 1h]", d)
			}
			waited[d] = true
		}
		if len(waited) < 2 {
			t.Errorf("8 replicas waited %v: they refresh in lockstep", waited)
		}
	})
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

// Close cancels the fetch in flight and stops the loop, and returns only
// once both ended; afterwards Keys serves the last set and nothing fetches.
func TestRemoteCloseStopsEverything(t *testing.T) {
	k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, setJSON(t, k1))
		r, base := newRemote(t, o)

		// Leave a fetch in flight, hanging on the OP, for Close to cancel.
		gate := o.hold()
		defer o.release(gate)
		refreshed := make(chan error, 1)
		go func() { refreshed <- r.RefreshNow(context.Background()) }()
		synctest.Wait()
		if got := r.Waiters(); got != 1 {
			t.Fatalf("%d waiters, want 1", got)
		}

		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		// A goroutine Close waited for may still be returning from its
		// last call: synctest.Wait lets it.
		synctest.Wait()
		if left := remoteGoroutines(); len(left) > 0 {
			t.Fatalf("goroutines of a Remote after Close:\n%s", strings.Join(left, "\n\n"))
		}
		if err := <-refreshed; !errors.Is(err, jwks.ErrFetch) {
			t.Fatalf("fetch cut by Close: err = %v, want ErrFetch", err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := r.RefreshNow(context.Background()); !errors.Is(err, jwks.ErrFetch) {
			t.Fatalf("Refresh after Close: err = %v", err)
		}
		if set := mustKeys(t, r, "other"); !hasKid(set, "k1") {
			t.Fatal("Keys after Close lost the last set")
		}
		// The background refresh, due within the hour, never comes.
		time.Sleep(48 * time.Hour)
		if n := o.fetches.Load() - base; n != 1 {
			t.Fatalf("%d fetches since the first, want only the one Close cut", n)
		}
	})
}

// remoteGoroutines returns the stacks of the goroutines a Remote starts:
// its loop and its fetches.
func remoteGoroutines() []string {
	buf := make([]byte, 1<<20)
	var left []string
	for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "jwks.(*Remote).loop(") || strings.Contains(g, "jwks.(*Remote).fetch(") {
			left = append(left, g)
		}
	}
	return left
}

// With the default client, what a user gets, Close cuts a fetch hanging
// on a real connection and leaves no goroutine behind: not the Remote's,
// nor its transport's.
func TestRemoteCloseLeavesNoGoroutine(t *testing.T) {
	o := newOP(t, setJSON(t, publicOf(t, genKey(t, "RSA", "k1", ""))))
	srv := o.listen(t)
	before := runtime.NumGoroutine()

	r, err := jwks.NewRemote(srv.URL, jwks.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RefreshNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	gate := o.hold()
	defer o.release(gate)
	refreshed := make(chan error, 1)
	go func() { refreshed <- r.RefreshNow(context.Background()) }()
	// Once the request arrived, Refresh started its fetch and waits for it.
	select {
	case <-o.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the fetch never reached the OP")
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-refreshed; !errors.Is(err, jwks.ErrFetch) {
		t.Fatalf("fetch cut by Close: err = %v, want ErrFetch", err)
	}
	srv.CloseClientConnections()

	// The transport's connection goroutines end on their own once their
	// sockets close: a bubble cannot hold them, so this waits in real time.
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
	k1 := publicOf(t, genKey(t, "RSA", "k1", ""))
	synctest.Test(t, func(t *testing.T) {
		o := newOP(t, nil)
		o.serve(http.StatusInternalServerError, nil, nil)
		r, _ := newRemote(t, o)
		o.serve(http.StatusOK, setJSON(t, k1), nil)
		gate := o.hold()
		defer o.release(gate)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := r.Keys(ctx, "k1")
			done <- err
		}()
		synctest.Wait()
		if got := r.Waiters(); got != 1 {
			t.Fatalf("%d waiters, want 1", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, jwks.ErrFetch) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want ErrFetch and context.Canceled", err)
		}
	})
}
