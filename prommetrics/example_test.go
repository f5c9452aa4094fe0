package prommetrics_test

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bclogout/bclogout/prommetrics"
)

func ExampleNew() {
	reg := prometheus.NewRegistry() // prometheus.DefaultRegisterer to serve them on promhttp.Handler()
	m, err := prommetrics.New(reg)
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a program: rp.WithMetrics(m.Observe) on the handler and
	// jwks.WithOnRefresh(m.JWKSRefreshed) on the key source.
	m.Observe("backchannel", "https://op.example", "accepted", 1, 3*time.Millisecond)
	m.Observe("backchannel", "https://op.example", "replay", 0, time.Millisecond)

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetType().String() == "COUNTER" {
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output:
	// bclogout_logouts_accepted_total 1
	// bclogout_requests_rejected_total 1
	// bclogout_sessions_ended_total 1
}
