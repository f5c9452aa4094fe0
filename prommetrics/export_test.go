package prommetrics

import "github.com/prometheus/client_golang/prometheus"

// NewWithBuckets is New with the request duration histogram's upper
// bounds, so that a test reads a few buckets rather than the default's
// fourteen.
func NewWithBuckets(reg prometheus.Registerer, bounds ...float64) (*Metrics, error) {
	return newMetrics(reg, bounds)
}
