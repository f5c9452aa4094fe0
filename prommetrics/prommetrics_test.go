package prommetrics_test

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/prommetrics"
	"github.com/bclogout/bclogout/rp"
)

// Observe is the function rp.WithMetrics takes.
var _ = rp.WithMetrics((*prommetrics.Metrics)(nil).Observe)

// exposition renders the named families of reg in the text format, the way
// a scrape would see them.
func exposition(t *testing.T, reg prometheus.Gatherer, names ...string) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, n := range names {
			if mf.GetName() == n {
				if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
					t.Fatalf("MetricFamilyToText: %v", err)
				}
			}
		}
	}
	return b.String()
}

// family returns the named family of reg, or nil.
func family(t *testing.T, reg prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

const (
	opA = "https://op-a.example"
	opB = "https://op-b.example"
)

func TestMetricsCounters(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.Observe("backchannel", opA, "accepted", 2, time.Millisecond)
	m.Observe("backchannel", opA, "accepted", 0, time.Millisecond)
	m.Observe("backchannel", opB, "accepted", 1, time.Millisecond)
	m.Observe("backchannel", opB, "accepted", -1, time.Millisecond) // a buggy caller must not panic the request
	m.Observe("backchannel", opA, "replay", 0, time.Millisecond)
	m.Observe("backchannel", opA, "replay", 0, time.Millisecond)
	m.Observe("backchannel", "", "malformed", 0, time.Millisecond)
	m.Observe("backchannel", opB, "failed", 0, time.Second)
	m.JWKSRefreshed(opA+"/jwks", nil)
	m.JWKSRefreshed(opA+"/jwks", errors.New("connection refused"))
	m.JWKSRefreshed(opA+"/jwks", nil)

	want := `# HELP bclogout_jwks_refreshes_total JWK Set fetch attempts, by URL and result.
# TYPE bclogout_jwks_refreshes_total counter
bclogout_jwks_refreshes_total{result="error",url="https://op-a.example/jwks"} 1
bclogout_jwks_refreshes_total{result="ok",url="https://op-a.example/jwks"} 2
# HELP bclogout_logouts_accepted_total Validated logouts acted on, by the door they came through.
# TYPE bclogout_logouts_accepted_total counter
bclogout_logouts_accepted_total{door="backchannel",issuer="https://op-a.example"} 2
bclogout_logouts_accepted_total{door="backchannel",issuer="https://op-b.example"} 2
# HELP bclogout_logouts_failed_total Validated logouts whose store work failed (session store unavailable); the sender is told to retry, and the retry queue retries.
# TYPE bclogout_logouts_failed_total counter
bclogout_logouts_failed_total{door="backchannel",issuer="https://op-b.example"} 1
# HELP bclogout_requests_rejected_total Requests a door refused, by reason; replays are reason="replay".
# TYPE bclogout_requests_rejected_total counter
bclogout_requests_rejected_total{door="backchannel",issuer="",reason="malformed"} 1
bclogout_requests_rejected_total{door="backchannel",issuer="https://op-a.example",reason="replay"} 2
# HELP bclogout_sessions_ended_total Local sessions ended by accepted logouts.
# TYPE bclogout_sessions_ended_total counter
bclogout_sessions_ended_total{door="backchannel",issuer="https://op-a.example"} 2
bclogout_sessions_ended_total{door="backchannel",issuer="https://op-b.example"} 1
`
	got := exposition(t, reg,
		"bclogout_jwks_refreshes_total", "bclogout_logouts_failed_total", "bclogout_sessions_ended_total",
		"bclogout_logouts_accepted_total", "bclogout_requests_rejected_total")
	if got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

// The retry queue's reports: pending goes up and down, retries and
// abandons are counted, and a full queue is abandoned without ever having
// been pending.
func TestMetricsRetryQueue(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for range 4 {
		m.Observe("backchannel", opA, "queued", 0, 0)
	}
	m.Observe("backchannel", opA, "retried", 2, 0)
	m.Observe("backchannel", opA, "retried", 0, 0)
	m.Observe("backchannel", opA, "abandoned_expired", 0, 0)
	m.Observe("backchannel", opA, "abandoned_full", 0, 0)

	want := `# HELP bclogout_logouts_abandoned_total Failed logouts that will not be retried, by reason: full (queue at capacity), expired (retried for the whole retry period), closed (pending at shutdown); their sessions may live on.
# TYPE bclogout_logouts_abandoned_total counter
bclogout_logouts_abandoned_total{door="backchannel",issuer="https://op-a.example",reason="expired"} 1
bclogout_logouts_abandoned_total{door="backchannel",issuer="https://op-a.example",reason="full"} 1
# HELP bclogout_logouts_pending Failed logouts waiting in the retry queue (rp.WithRetry).
# TYPE bclogout_logouts_pending gauge
bclogout_logouts_pending{door="backchannel",issuer="https://op-a.example"} 1
# HELP bclogout_logouts_retried_total Pending logouts completed, by the queue's retry or by another delivery of the token.
# TYPE bclogout_logouts_retried_total counter
bclogout_logouts_retried_total{door="backchannel",issuer="https://op-a.example"} 2
# HELP bclogout_sessions_ended_total Local sessions ended by accepted logouts.
# TYPE bclogout_sessions_ended_total counter
bclogout_sessions_ended_total{door="backchannel",issuer="https://op-a.example"} 2
`
	got := exposition(t, reg, "bclogout_logouts_abandoned_total", "bclogout_logouts_pending",
		"bclogout_logouts_retried_total", "bclogout_sessions_ended_total")
	if got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

func TestMetricsDuration(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.NewWithBuckets(reg, 0.01, 1)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.Observe("backchannel", opA, "accepted", 1, 5*time.Millisecond)
	m.Observe("backchannel", opA, "accepted", 1, 2*time.Second)
	m.Observe("backchannel", opA, "signature", 0, 500*time.Millisecond)
	m.Observe("backchannel", opA, "failed", 0, 3*time.Second)

	mf := family(t, reg, "bclogout_request_duration_seconds")
	if mf == nil {
		t.Fatal("no bclogout_request_duration_seconds")
	}
	type hist struct {
		count   uint64
		sum     float64
		buckets [2]uint64 // cumulative counts at 0.01 and 1
	}
	want := map[string]hist{
		"accepted": {count: 2, sum: 2.005, buckets: [2]uint64{1, 1}},
		"rejected": {count: 1, sum: 0.5, buckets: [2]uint64{0, 1}},
		"failed":   {count: 1, sum: 3, buckets: [2]uint64{0, 0}},
	}
	if len(mf.GetMetric()) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(mf.GetMetric()), len(want))
	}
	for _, metric := range mf.GetMetric() {
		labels := metric.GetLabel() // door, outcome: sorted by name
		if labels[0].GetValue() != "backchannel" {
			t.Errorf("door = %q", labels[0].GetValue())
		}
		outcome := labels[1].GetValue()
		h := metric.GetHistogram()
		got := hist{count: h.GetSampleCount(), sum: h.GetSampleSum()}
		for i, b := range h.GetBucket() {
			got.buckets[i] = b.GetCumulativeCount()
		}
		w := want[outcome]
		if got.count != w.count || math.Abs(got.sum-w.sum) > 1e-9 || got.buckets != w.buckets {
			t.Errorf("outcome %q = %+v, want %+v", outcome, got, w)
		}
	}
}

// Two RPs in one process share a registry by giving the second a prefix,
// as New's doc says.
func TestTwoOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := prommetrics.New(reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b, err := prommetrics.New(prometheus.WrapRegistererWithPrefix("tenant2_", reg))
	if err != nil {
		t.Fatalf("New with a prefixed registerer on the same registry: %v", err)
	}
	a.Observe("backchannel", opA, "accepted", 0, 0)
	b.Observe("backchannel", opA, "accepted", 0, 0)
	b.Observe("backchannel", opA, "accepted", 0, 0)
	for name, want := range map[string]float64{
		"bclogout_logouts_accepted_total":         1,
		"tenant2_bclogout_logouts_accepted_total": 2,
	} {
		mf := family(t, reg, name)
		if mf == nil {
			t.Errorf("no %s", name)
			continue
		}
		if got := mf.GetMetric()[0].GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	alreadyRegistered := func(err error) bool {
		var are prometheus.AlreadyRegisteredError
		return errors.As(err, &are)
	}
	tests := []struct {
		name    string
		reg     func() prometheus.Registerer
		wantErr func(error) bool // nil: no error
	}{
		{name: "defaults"},
		{name: "nil registerer", reg: func() prometheus.Registerer { return nil }, wantErr: func(err error) bool { return errors.Is(err, errs.ErrInvalidConfig) }},
		{
			name: "registered twice",
			reg: func() prometheus.Registerer {
				reg := prometheus.NewRegistry()
				if _, err := prommetrics.New(reg); err != nil {
					t.Fatalf("first New: %v", err)
				}
				return reg
			},
			wantErr: alreadyRegistered,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reg prometheus.Registerer = prometheus.NewRegistry()
			if tt.reg != nil {
				reg = tt.reg()
			}
			m, err := prommetrics.New(reg)
			if (err != nil) != (tt.wantErr != nil) || (err != nil && !tt.wantErr(err)) {
				t.Fatalf("New = %v", err)
			}
			if (m == nil) != (tt.wantErr != nil) {
				t.Errorf("New returned Metrics %v with error %v", m, err)
			}
		})
	}
}

func TestNewUndoesPartialRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	// A collector just like our fifth makes New fail midway.
	blocker := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bclogout_jwks_refreshes_total",
		Help: "JWK Set fetch attempts, by URL and result.",
	}, []string{"url", "result"})
	reg.MustRegister(blocker)

	_, err := prommetrics.New(reg)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("New = %v, want it to wrap prometheus.AlreadyRegisteredError", err)
	}

	reg.Unregister(blocker)
	if _, err := prommetrics.New(reg); err != nil {
		t.Fatalf("New after the blocker left = %v: the failed New left collectors behind", err)
	}
}

func TestJWKSRefreshedIsAnOnRefreshHook(t *testing.T) {
	m, err := prommetrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Compiles only while the signatures agree.
	_ = jwks.WithOnRefresh(m.JWKSRefreshed)
}

func TestMetricsConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				m.Observe("backchannel", opA, "accepted", 1, time.Millisecond)
				m.Observe("backchannel", opA, "replay", 0, time.Millisecond)
			}
		})
	}
	wg.Wait()
	mf := family(t, reg, "bclogout_sessions_ended_total")
	if got := mf.GetMetric()[0].GetCounter().GetValue(); got != workers*each {
		t.Errorf("sessions ended = %v, want %d", got, workers*each)
	}
}

// BenchmarkObserveAccepted measures the cost the handler pays per accepted
// token; BenchmarkBaselineCounterInc is the raw client_golang operation
// underneath, so the overhead shows as a ratio.
func BenchmarkObserveAccepted(b *testing.B) {
	m, err := prommetrics.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe("backchannel", opA, "accepted", 1, time.Millisecond)
		}
	})
}

func BenchmarkObserveRejected(b *testing.B) {
	m, err := prommetrics.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe("backchannel", opA, "replay", 0, time.Millisecond)
		}
	})
}

func BenchmarkBaselineCounterInc(b *testing.B) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baseline_total", Help: "baseline"}, []string{"door", "issuer"})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.WithLabelValues("backchannel", opA).Inc()
		}
	})
}
