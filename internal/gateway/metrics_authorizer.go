package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// authorizerMetrics are one CUSTOM_AUTHENTICATION policy's counters,
// resolved at compile so that a request only increments. A nil
// *authorizerMetrics records nothing.
type authorizerMetrics struct {
	lookups     map[string]prometheus.Counter // hit, miss, shared
	invocations map[string]prometheus.Counter // success, failed, unexpected
	latency     prometheus.Observer
}

// authorizerVecs are the authorizer metric families, registered once per
// Metrics.
type authorizerVecs struct {
	lookups     *prometheus.CounterVec
	invocations *prometheus.CounterVec
	latency     *prometheus.HistogramVec
}

func newAuthorizerVecs(r *prometheus.Registry) *authorizerVecs {
	v := &authorizerVecs{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_authorizer_cache_lookups_total",
			Help: "Authorizer function verdicts looked up, by deployment and result (hit: cached; miss: the function was called; shared: waited for a call another request made).",
		}, []string{"deployment", "result"}),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_authorizer_invocations_total",
			Help: "Authorizer function calls, by deployment and result (success; failed: error, timeout or non-200; unexpected: a 200 that is not the contract).",
		}, []string{"deployment", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keygate_authorizer_duration_seconds",
			Help:    "Time an authorizer function took to answer.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"deployment"}),
	}
	r.MustRegister(v.lookups, v.invocations, v.latency)
	return v
}

// authorizerFor returns the counters of deployment's authorizer; nil
// without metrics.
func (m *Metrics) authorizerFor(deployment string) *authorizerMetrics {
	if m == nil {
		return nil
	}
	m.authorizerOnce.Do(func() { m.authorizer = newAuthorizerVecs(m.registry) })
	am := &authorizerMetrics{lookups: map[string]prometheus.Counter{}, invocations: map[string]prometheus.Counter{},
		latency: m.authorizer.latency.WithLabelValues(deployment)}
	for _, r := range []string{"hit", "miss", "shared"} {
		am.lookups[r] = m.authorizer.lookups.WithLabelValues(deployment, r)
	}
	for _, r := range []string{"success", "failed", "unexpected"} {
		am.invocations[r] = m.authorizer.invocations.WithLabelValues(deployment, r)
	}
	return am
}

func (am *authorizerMetrics) lookup(result string) {
	if am != nil {
		am.lookups[result].Inc()
	}
}

func (am *authorizerMetrics) invocation(result string) {
	if am != nil {
		am.invocations[result].Inc()
	}
}

func (am *authorizerMetrics) duration(d time.Duration) {
	if am != nil {
		am.latency.Observe(d.Seconds())
	}
}
