package gateway

import "github.com/prometheus/client_golang/prometheus"

// cacheCounters are a deployment's response cache series; the per-request
// ones are resolved when the route is compiled. The zero value (no
// metrics) counts nothing.
type cacheCounters struct {
	m                 *Metrics
	deployment        string
	hit, miss, bypass prometheus.Counter
}

func (m *Metrics) cacheCountersFor(deployment string) cacheCounters {
	if m == nil {
		return cacheCounters{}
	}
	return cacheCounters{m: m, deployment: deployment,
		hit:    m.cacheLookups.WithLabelValues(deployment, "hit"),
		miss:   m.cacheLookups.WithLabelValues(deployment, "miss"),
		bypass: m.cacheLookups.WithLabelValues(deployment, "bypass")}
}

func (c cacheCounters) lookup(s cacheState) {
	if c.m == nil {
		return
	}
	switch s {
	case cacheHit:
		c.hit.Inc()
	case cacheMiss:
		c.miss.Inc()
	default:
		c.bypass.Inc()
	}
}

func (c cacheCounters) bypassed(reason string) {
	if c.m != nil {
		c.m.cacheBypasses.WithLabelValues(c.deployment, reason).Inc()
	}
}

func (c cacheCounters) stored() {
	if c.m != nil {
		c.m.cacheStores.WithLabelValues(c.deployment, "stored").Inc()
	}
}

func (c cacheCounters) notStored(reason string) {
	if c.m != nil {
		c.m.cacheStores.WithLabelValues(c.deployment, reason).Inc()
	}
}

// WatchResponseCache exports how many commands the response cache's
// server failed, so that an outage shows.
func (m *Metrics) WatchResponseCache(c *ResponseCache) {
	if m == nil || c == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "keygate_response_cache_errors_total",
		Help: "Response cache commands (lookups, stores) its server did not answer in time; those requests bypassed the cache.",
	}, func() float64 { return float64(c.Errors()) }))
}
