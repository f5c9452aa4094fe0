package prommetrics

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bclogout/bclogout/internal/errs"
)

// Outcome label values of the request duration histogram.
const (
	outcomeAccepted = "accepted"
	outcomeRejected = "rejected"
	outcomeFailed   = "failed"
)

// defaultBuckets reach below prometheus.DefBuckets because a request that
// finds its key cached and its replay cache in memory takes well under a
// millisecond, and up to the seconds a JWK Set fetch or a slow session store
// can take.
var defaultBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics counts what an rp.Handler observed into Prometheus collectors:
// rp.WithMetrics(m.Observe) on the handler, jwks.WithOnRefresh(m.JWKSRefreshed)
// on the key source. Its methods are safe for concurrent use.
//
// Labels stay bounded: door is one of the four doors a logout comes
// through ("backchannel", "frontchannel", "signout", "sharedsignals"),
// issuer is a configured issuer or "", reason is one of the rejection
// classes rp.WithMetrics lists, and url (of the JWK Set) is configuration
// too.
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

// New creates the collectors and registers them with reg (a fresh
// prometheus.NewRegistry() in tests, prometheus.DefaultRegisterer to serve
// them on promhttp.Handler()):
//
//	bclogout_logouts_accepted_total{door,issuer}
//	bclogout_requests_rejected_total{door,issuer,reason}
//	bclogout_sessions_ended_total{door,issuer}
//	bclogout_logouts_failed_total{door,issuer}
//	bclogout_logouts_pending{door,issuer}
//	bclogout_logouts_retried_total{door,issuer}
//	bclogout_logouts_abandoned_total{door,issuer,reason="full"|"expired"|"closed"}
//	bclogout_jwks_refreshes_total{url,result="ok"|"error"}
//	bclogout_request_duration_seconds{door,outcome="accepted"|"rejected"|"failed"}
//
// If any collector cannot be registered, those already registered are
// unregistered again and the error wraps the registerer's own
// (prometheus.AlreadyRegisteredError when New already ran on it); a nil
// registerer is bclogout.ErrInvalidConfig. Two RPs in one
// process register on one registry by giving the second a prefix of its
// own: New(prometheus.WrapRegistererWithPrefix("tenant2_", reg)).
func New(reg prometheus.Registerer) (*Metrics, error) {
	return newMetrics(reg, defaultBuckets)
}

// newMetrics is New with the histogram's buckets, which tests set.
func newMetrics(reg prometheus.Registerer, buckets []float64) (*Metrics, error) {
	if reg == nil {
		return nil, errs.Config("prommetrics", "nil registerer")
	}
	const namespace = "bclogout"
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		accepted: counter("logouts_accepted_total",
			"Validated logouts acted on, by the door they came through.", "door", "issuer"),
		rejected: counter("requests_rejected_total",
			"Requests a door refused, by reason; replays are reason=\"replay\".", "door", "issuer", "reason"),
		ended: counter("sessions_ended_total",
			"Local sessions ended by accepted logouts.", "door", "issuer"),
		failed: counter("logouts_failed_total",
			"Validated logouts whose store work failed (session store unavailable); the sender is told to retry, and the retry queue retries.", "door", "issuer"),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "logouts_pending",
			Help: "Failed logouts waiting in the retry queue (rp.WithRetry)."}, []string{"door", "issuer"}),
		retried: counter("logouts_retried_total",
			"Pending logouts completed, by the queue's retry or by another delivery of the token.", "door", "issuer"),
		abandoned: counter("logouts_abandoned_total",
			"Failed logouts that will not be retried, by reason: full (queue at capacity), expired (retried for the whole retry period), closed (pending at shutdown); their sessions may live on.", "door", "issuer", "reason"),
		refreshes: counter("jwks_refreshes_total",
			"JWK Set fetch attempts, by URL and result.", "url", "result"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "request_duration_seconds",
			Help:      "Time to answer a back-channel logout request, or to run another door's logout, by door and outcome.",
			Buckets:   buckets,
		}, []string{"door", "outcome"}),
	}

	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.accepted, m.rejected, m.ended, m.failed, m.pending, m.retried, m.abandoned, m.refreshes, m.duration} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, fmt.Errorf("prommetrics: cannot register metrics: %w", err)
		}
		done = append(done, c)
	}
	return m, nil
}

// Observe counts one observation of an rp.Handler; its signature is the
// one rp.WithMetrics takes: rp.WithMetrics(m.Observe). The outcomes are
// those rp.WithMetrics lists: "accepted", "failed", a rejection class,
// and the retry queue's "queued", "retried" and "abandoned_…". A
// rejection another door reported without timing it (elapsed zero) is
// counted, not timed.
func (m *Metrics) Observe(door, issuer, outcome string, sessionsEnded int, elapsed time.Duration) {
	switch outcome {
	case "accepted":
		m.accepted.WithLabelValues(door, issuer).Inc()
		m.addEnded(door, issuer, sessionsEnded)
		m.duration.WithLabelValues(door, outcomeAccepted).Observe(elapsed.Seconds())
	case "failed":
		m.failed.WithLabelValues(door, issuer).Inc()
		m.duration.WithLabelValues(door, outcomeFailed).Observe(elapsed.Seconds())
	case "queued":
		m.pending.WithLabelValues(door, issuer).Inc()
	case "retried":
		// The sessions a retry ended count in sessions_ended_total.
		m.pending.WithLabelValues(door, issuer).Dec()
		m.retried.WithLabelValues(door, issuer).Inc()
		m.addEnded(door, issuer, sessionsEnded)
	case "abandoned_full":
		// Refused by a full queue: it was never pending.
		m.abandoned.WithLabelValues(door, issuer, "full").Inc()
	case "abandoned_expired", "abandoned_closed":
		m.pending.WithLabelValues(door, issuer).Dec()
		m.abandoned.WithLabelValues(door, issuer, strings.TrimPrefix(outcome, "abandoned_")).Inc()
	default: // a rejection, by its class
		m.rejected.WithLabelValues(door, issuer, outcome).Inc()
		if elapsed > 0 {
			m.duration.WithLabelValues(door, outcomeRejected).Observe(elapsed.Seconds())
		}
	}
}

// addEnded counts ended sessions. Add panics on a negative value, which a
// buggy caller must not turn into a failed request; zero need not touch
// the counter.
func (m *Metrics) addEnded(door, issuer string, n int) {
	if n > 0 {
		m.ended.WithLabelValues(door, issuer).Add(float64(n))
	}
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
