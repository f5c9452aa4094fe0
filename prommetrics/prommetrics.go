package prommetrics

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bclogout/bclogout/rp"
)

// Errors New reports.
var (
	// ErrInvalidConfig means an argument or option is unusable.
	ErrInvalidConfig = errors.New("prommetrics: invalid configuration")
	// ErrRegister means the registerer refused a collector, usually
	// because New already ran on it with the same namespace. The
	// registerer's own error is wrapped too (prometheus.AlreadyRegisteredError).
	ErrRegister = errors.New("prommetrics: cannot register metrics")
)

// DefaultNamespace prefixes every metric name unless WithNamespace says
// otherwise.
const DefaultNamespace = "bclogout"

// Outcome label values of the request duration histogram.
const (
	OutcomeAccepted = "accepted"
	OutcomeRejected = "rejected"
	OutcomeFailed   = "failed"
)

// defaultBuckets reach below prometheus.DefBuckets because a request that
// finds its key cached and its replay cache in memory takes well under a
// millisecond, and up to the seconds a JWK Set fetch or a slow session store
// can take.
var defaultBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

var namespaceRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

type options struct {
	namespace string
	buckets   []float64
}

// Option configures New.
type Option func(*options)

// WithNamespace replaces the "bclogout" prefix of every metric name, e.g. to
// run two independently configured handlers in one process.
func WithNamespace(ns string) Option {
	return func(o *options) { o.namespace = ns }
}

// WithBuckets sets the upper bounds, in seconds and strictly increasing, of
// the request duration histogram.
func WithBuckets(bounds ...float64) Option {
	return func(o *options) { o.buckets = append([]float64(nil), bounds...) }
}

// Metrics is an rp.Metrics that counts into Prometheus collectors. Its
// methods are safe for concurrent use.
//
// Labels stay bounded: issuer is a configured issuer or "", reason is one of
// rp.Reason's codes, and url (of the JWK Set) is configuration too.
type Metrics struct {
	accepted  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	ended     *prometheus.CounterVec
	failed    *prometheus.CounterVec
	pending   *prometheus.GaugeVec
	retried   *prometheus.CounterVec
	abandoned *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	duration  *prometheus.HistogramVec
}

var _ rp.Metrics = (*Metrics)(nil)

// New creates the collectors and registers them with reg (a fresh
// prometheus.NewRegistry() in tests, prometheus.DefaultRegisterer to serve
// them on promhttp.Handler()):
//
//	bclogout_tokens_accepted_total{issuer}
//	bclogout_tokens_rejected_total{issuer,reason}
//	bclogout_sessions_ended_total{issuer}
//	bclogout_logouts_failed_total{issuer}
//	bclogout_logouts_pending{issuer}
//	bclogout_logouts_retried_total{issuer}
//	bclogout_logouts_abandoned_total{issuer,reason="full"|"expired"|"closed"}
//	bclogout_jwks_refreshes_total{url,result="ok"|"error"}
//	bclogout_request_duration_seconds{outcome="accepted"|"rejected"|"failed"}
//
// If any collector cannot be registered, those already registered are
// unregistered again and the error wraps ErrRegister.
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil registerer", ErrInvalidConfig)
	}
	o := options{namespace: DefaultNamespace, buckets: defaultBuckets}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidConfig)
		}
		opt(&o)
	}
	if !namespaceRE.MatchString(o.namespace) {
		return nil, fmt.Errorf("%w: namespace %q is not a metric name prefix", ErrInvalidConfig, o.namespace)
	}
	if err := checkBuckets(o.buckets); err != nil {
		return nil, err
	}

	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: o.namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		accepted: counter("tokens_accepted_total",
			"Logout tokens validated and acted on.", "issuer"),
		rejected: counter("tokens_rejected_total",
			"Back-channel logout requests answered with 400, 405 or 413, by reason; replays are reason=\"replay\".", "issuer", "reason"),
		ended: counter("sessions_ended_total",
			"Local sessions ended by accepted logout tokens.", "issuer"),
		failed: counter("logouts_failed_total",
			"Valid logout tokens whose logout failed (session store unavailable); the OP is told to retry.", "issuer"),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: o.namespace, Name: "logouts_pending",
			Help: "Failed logouts waiting in the retry queue (rp.WithRetry)."}, []string{"issuer"}),
		retried: counter("logouts_retried_total",
			"Pending logouts completed, by the queue's retry or by another delivery of the token.", "issuer"),
		abandoned: counter("logouts_abandoned_total",
			"Failed logouts that will not be retried, by reason: full (queue at capacity), expired (retried for the whole retry period), closed (pending at shutdown); their sessions may live on.", "issuer", "reason"),
		refreshes: counter("jwks_refreshes_total",
			"JWK Set fetch attempts, by URL and result.", "url", "result"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: o.namespace,
			Name:      "request_duration_seconds",
			Help:      "Time to answer a back-channel logout request, by outcome.",
			Buckets:   o.buckets,
		}, []string{"outcome"}),
	}

	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.accepted, m.rejected, m.ended, m.failed, m.pending, m.retried, m.abandoned, m.refreshes, m.duration} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, fmt.Errorf("%w: %w", ErrRegister, err)
		}
		done = append(done, c)
	}
	return m, nil
}

// checkBuckets refuses what prometheus.NewHistogramVec would panic on, or
// silently misread (NaN).
func checkBuckets(b []float64) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: no histogram buckets", ErrInvalidConfig)
	}
	for i, v := range b {
		if math.IsNaN(v) {
			return fmt.Errorf("%w: histogram bucket %d is NaN", ErrInvalidConfig, i)
		}
		if i > 0 && v <= b[i-1] {
			return fmt.Errorf("%w: histogram buckets not strictly increasing at %d (%g after %g)", ErrInvalidConfig, i, v, b[i-1])
		}
	}
	return nil
}

// TokenAccepted implements rp.Metrics.
func (m *Metrics) TokenAccepted(issuer string, sessionsEnded int, elapsed time.Duration) {
	m.accepted.WithLabelValues(issuer).Inc()
	// Add panics on a negative value; zero need not touch the counter.
	if sessionsEnded > 0 {
		m.ended.WithLabelValues(issuer).Add(float64(sessionsEnded))
	}
	m.duration.WithLabelValues(OutcomeAccepted).Observe(elapsed.Seconds())
}

// TokenRejected implements rp.Metrics.
func (m *Metrics) TokenRejected(issuer, reason string, elapsed time.Duration) {
	m.rejected.WithLabelValues(issuer, reason).Inc()
	m.duration.WithLabelValues(OutcomeRejected).Observe(elapsed.Seconds())
}

// LogoutFailed implements rp.Metrics.
func (m *Metrics) LogoutFailed(issuer string, elapsed time.Duration) {
	m.failed.WithLabelValues(issuer).Inc()
	m.duration.WithLabelValues(OutcomeFailed).Observe(elapsed.Seconds())
}

// LogoutQueued implements rp.Metrics.
func (m *Metrics) LogoutQueued(issuer string) {
	m.pending.WithLabelValues(issuer).Inc()
}

// LogoutRetried implements rp.Metrics; the sessions a retry ended count in
// bclogout_sessions_ended_total.
func (m *Metrics) LogoutRetried(issuer string, sessionsEnded int) {
	m.pending.WithLabelValues(issuer).Dec()
	m.retried.WithLabelValues(issuer).Inc()
	if sessionsEnded > 0 {
		m.ended.WithLabelValues(issuer).Add(float64(sessionsEnded))
	}
}

// LogoutAbandoned implements rp.Metrics. A logout refused by a full queue
// was never pending.
func (m *Metrics) LogoutAbandoned(issuer, reason string) {
	if reason != rp.AbandonFull {
		m.pending.WithLabelValues(issuer).Dec()
	}
	m.abandoned.WithLabelValues(issuer, reason).Inc()
}

// JWKSRefreshed counts one JWK Set fetch attempt. Its signature is the one
// jwks.WithOnRefresh takes: jwks.WithOnRefresh(m.JWKSRefreshed).
func (m *Metrics) JWKSRefreshed(url string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.refreshes.WithLabelValues(url, result).Inc()
}
