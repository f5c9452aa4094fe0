package rp

import (
	"slices"
	"testing"
	"time"
)

// interleaved runs op and its baseline alternately, in batches, and reports
// the median of the per-batch time ratios as "x-baseline" beside both
// times. On a machine shared with other work both sides then see the same
// load, which two benchmarks run one after the other do not; the ratio is
// the figure the goals are stated in.
func interleaved(b *testing.B, op, baseline, beforeBatch func()) {
	const batch = 16
	var ratios []float64
	var opTotal, baseTotal time.Duration
	n := 0
	for b.Loop() {
		if beforeBatch != nil {
			beforeBatch() // untimed: resets that neither side should pay
		}
		var tOp, tBase time.Duration
		for i := range batch {
			// Alternate which goes first, so neither always runs on a
			// warm cache or right after a GC the other caused.
			if i%2 == 0 {
				tOp += timed(op)
				tBase += timed(baseline)
			} else {
				tBase += timed(baseline)
				tOp += timed(op)
			}
		}
		ratios = append(ratios, float64(tOp)/float64(tBase))
		opTotal += tOp
		baseTotal += tBase
		n += batch
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-baseline")
	b.ReportMetric(float64(opTotal.Nanoseconds())/float64(n), "ns/op-measured")
	b.ReportMetric(float64(baseTotal.Nanoseconds())/float64(n), "ns/op-baseline")
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}
