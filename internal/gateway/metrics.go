package gateway

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// Metrics are keygate's Prometheus metrics. A nil *Metrics records nothing,
// so the gateway works the same without an admin listener.
type Metrics struct {
	registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	decisions      *prometheus.CounterVec
	backendLatency *prometheus.HistogramVec
	validations    *prometheus.CounterVec
	jwksFetches    *prometheus.CounterVec
	jwksSkipped    *prometheus.CounterVec
	idpCalls       *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	configInfo     *prometheus.GaugeVec
	rateLimits     *prometheus.CounterVec
}

// NewMetrics registers keygate's metrics, plus the Go runtime and process
// collectors, on a registry of its own.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_requests_total", Help: "Requests answered, by deployment, route, method and status.",
		}, []string{"deployment", "route", "method", "status"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_auth_decisions_total",
			Help: "Access decisions, by stage (mutual_tls, authentication, authorization), outcome (allow, deny) and reason code.",
		}, []string{"deployment", "stage", "outcome", "reason"}),
		backendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keygate_backend_duration_seconds", Help: "Time from forwarding a request to the end of the backend's response.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"deployment", "route"}),
		validations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_validation_failures_total",
			Help: "Requests failing a header, query parameter or body validation, by deployment, route, validationMode (ENFORCING: refused, PERMISSIVE: let through) and reason.",
		}, []string{"deployment", "route", "mode", "reason"}),
		jwksFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_jwks_fetches_total", Help: "Remote JWKS fetches, by URI and result (loaded, failed).",
		}, []string{"uri", "result"}),
		jwksSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_jwks_keys_skipped_total", Help: "Keys of fetched JWKS documents that were skipped as unusable, by URI.",
		}, []string{"uri"}),
		idpCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_idp_calls_total",
			Help: "OpenID provider answers, by discovery URI, call (discovery, introspection) and result (discovery: loaded, failed; introspection: cached, active, inactive, invalid, failed).",
		}, []string{"uri", "call", "result"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_config_reloads_total", Help: "Configuration reloads after start-up, by result (success, failure).",
		}, []string{"result"}),
		configInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "keygate_config_info", Help: "The live configuration: 1 for its version (a short hash).",
		}, []string{"version"}),
		rateLimits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_rate_limit_decisions_total", Help: "Rate limiting decisions, by deployment and outcome (allow, deny).",
		}, []string{"deployment", "outcome"}),
	}
	m.registry.MustRegister(m.requests, m.decisions, m.backendLatency, m.validations, m.jwksFetches, m.jwksSkipped, m.idpCalls, m.reloads, m.configInfo, m.rateLimits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, result := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(result)
	}
	return m
}

// rateLimit counts one rate limiting decision.
func (m *Metrics) rateLimit(ex *exchange, allowed bool) {
	if m == nil {
		return
	}
	outcome := "deny"
	if allowed {
		outcome = "allow"
	}
	m.rateLimits.WithLabelValues(ex.dep.prefix, outcome).Inc()
}

// WatchLimits exports how many rate limiting decisions the shared store
// (Redis) failed to make, so that an outage shows.
func (m *Metrics) WatchLimits(l *Limits) {
	if m == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "keygate_rate_limit_shared_errors_total",
		Help: "Rate limiting decisions Redis did not make in time, taken by the replica alone.",
	}, func() float64 { return float64(l.SharedErrors()) }))
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Register adds a collector to the metrics' registry.
func (m *Metrics) Register(c prometheus.Collector) error { return m.registry.Register(c) }

func (m *Metrics) request(ex *exchange, method string, status int) {
	if m == nil {
		return
	}
	if ex.route != nil {
		ex.route.metrics.request(method, status)
		return
	}
	dep, route := "", ""
	if ex.dep != nil {
		dep = ex.dep.prefix
	}
	if ex.route != nil {
		route = ex.route.path
	}
	m.requests.WithLabelValues(dep, route, metricMethod(method), strconv.Itoa(status)).Inc()
}

// metricMethod keeps the method label's values few: a client choosing
// arbitrary methods must not grow the metric without bound.
func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}

func (m *Metrics) decision(ex *exchange, stage, outcome, reason string) {
	if m == nil {
		return
	}
	dep := ""
	if ex.dep != nil {
		dep = ex.dep.prefix
	}
	m.decisions.WithLabelValues(dep, stage, outcome, reason).Inc()
}

// ObserveJWKS counts a remote key set's fetch outcome.
func (m *Metrics) ObserveJWKS(e keys.RemoteEvent) {
	if m == nil {
		return
	}
	if e.Kind == keys.RemoteKeySkipped {
		m.jwksSkipped.WithLabelValues(e.URL).Inc()
		return
	}
	m.jwksFetches.WithLabelValues(e.URL, e.Kind.String()).Inc()
}

// ObserveIDP counts an OpenID provider's answer (KeySets.ObserveIDP).
func (m *Metrics) ObserveIDP(call, uri, result string) {
	if m == nil {
		return
	}
	m.idpCalls.WithLabelValues(uri, call, result).Inc()
}

// WatchTokenCache exports the verified-token cache's hits and misses. The
// cache counts them itself, so a request pays no metric update for them.
func (m *Metrics) WatchTokenCache(c *token.Cache) {
	if m == nil {
		return
	}
	for _, result := range []string{"hit", "miss"} {
		hit := result == "hit"
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keygate_token_cache_lookups_total", Help: "Verified-token cache lookups, by result (hit, miss).",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 {
			hits, misses := c.Stats()
			if hit {
				return float64(hits)
			}
			return float64(misses)
		}))
	}
}

// ConfigLoaded records a reload: on success version becomes
// the live one.
func (m *Metrics) ConfigLoaded(version string, ok bool) {
	if m == nil {
		return
	}
	if !ok {
		m.reloads.WithLabelValues("failure").Inc()
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.ConfigLive(version)
}

// ConfigLive exports version as the live configuration's (at start-up,
// which is no reload, and after each successful reload).
func (m *Metrics) ConfigLive(version string) {
	if m == nil {
		return
	}
	m.configInfo.Reset()
	m.configInfo.WithLabelValues(version).Set(1)
}

// keySetAge is a collector for the age of every remote key set's keys.
type keySetAge struct {
	sets *KeySets
	desc *prometheus.Desc
}

// WatchKeySets exports keygate_jwks_age_seconds for every set of ks.
func (m *Metrics) WatchKeySets(ks *KeySets) {
	if m == nil {
		return
	}
	m.registry.MustRegister(&keySetAge{sets: ks, desc: prometheus.NewDesc("keygate_jwks_age_seconds",
		"Seconds since the keys in use were fetched; absent until the first load.", []string{"uri"}, nil)})
}

func (c *keySetAge) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *keySetAge) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.sets.all() {
		if at := s.LoadedAt(); !at.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, time.Since(at).Seconds(), s.URL())
		}
	}
}

// routeMetrics are one route's series, resolved when the route is compiled
// (or on first use of a method and status) so that a request updates a
// counter without hashing label values.
type routeMetrics struct {
	m               *Metrics
	deployment      string
	route           string
	backendDuration prometheus.Observer
	// counters maps methodIndex<<16 | status to its request counter.
	counters sync.Map
}

// forRoute returns the route's series; nil when m is nil.
func (m *Metrics) forRoute(deployment, route string) *routeMetrics {
	if m == nil {
		return nil
	}
	return &routeMetrics{m: m, deployment: deployment, route: route,
		backendDuration: m.backendLatency.WithLabelValues(deployment, route)}
}

func (rm *routeMetrics) request(method string, status int) {
	key := uint32(methodIndex(method))<<16 | uint32(status)
	if c, ok := rm.counters.Load(key); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c := rm.m.requests.WithLabelValues(rm.deployment, rm.route, metricMethod(method), strconv.Itoa(status))
	rm.counters.Store(key, c)
	c.Inc()
}

// validationFailure counts a request failing a validation policy in mode;
// nothing without metrics. A failure is rare next to the requests that
// pass, so its labels are looked up when it happens.
func (rm *routeMetrics) validationFailure(mode string, why reason) {
	if rm == nil {
		return
	}
	rm.m.validations.WithLabelValues(rm.deployment, rm.route, mode, string(why)).Inc()
}

// methodIndex numbers the methods metricMethod keeps; 0 is OTHER.
func methodIndex(method string) int {
	switch method {
	case http.MethodGet:
		return 1
	case http.MethodHead:
		return 2
	case http.MethodPost:
		return 3
	case http.MethodPut:
		return 4
	case http.MethodPatch:
		return 5
	case http.MethodDelete:
		return 6
	case http.MethodOptions:
		return 7
	}
	return 0
}

// allowCounters are a deployment's counters of successful decisions, the
// ones every authenticated (or certified) request updates.
type allowCounters struct {
	authentication, authorization prometheus.Counter
	// mutualTLS is nil but on deployments with mutual TLS on.
	mutualTLS prometheus.Counter
}

func (m *Metrics) allowCountersFor(deployment string) allowCounters {
	if m == nil {
		return allowCounters{}
	}
	return allowCounters{
		authentication: m.decisions.WithLabelValues(deployment, "authentication", "allow", "valid_token"),
		authorization:  m.decisions.WithLabelValues(deployment, "authorization", "allow", "allowed"),
	}
}

// mutualTLSAllowed is the counter of certificates a deployment with mutual
// TLS on accepted (made only for such deployments); nil without metrics.
func (m *Metrics) mutualTLSAllowed(deployment string) prometheus.Counter {
	if m == nil {
		return nil
	}
	return m.decisions.WithLabelValues(deployment, "mutual_tls", "allow", "valid_certificate")
}
