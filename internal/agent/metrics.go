package agent

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the agent's Prometheus metrics. A nil *Metrics counts
// nothing.
type Metrics struct {
	tokensSigned  prometheus.Counter
	signFailures  prometheus.Counter
	writeFailures prometheus.Counter
	requests      *prometheus.CounterVec
}

// NewMetrics registers the agent's counters with reg. AdminHandler adds
// the token's seconds to expiry.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		tokensSigned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keygate_agent_tokens_signed_total", Help: "Tokens signed."}),
		signFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keygate_agent_sign_failures_total", Help: "Attempts to sign a token that failed."}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keygate_agent_token_file_write_failures_total", Help: "Tokens signed but not written to --out."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keygate_agent_requests_total", Help: "Requests forwarded upstream, by status code (502: upstream unreachable, 503: no token)."},
			[]string{"code"}),
	}
	reg.MustRegister(m.tokensSigned, m.signFailures, m.writeFailures, m.requests)
	return m
}

func (m *Metrics) signed() {
	if m != nil {
		m.tokensSigned.Inc()
	}
}

func (m *Metrics) signFailed() {
	if m != nil {
		m.signFailures.Inc()
	}
}

func (m *Metrics) writeFailed() {
	if m != nil {
		m.writeFailures.Inc()
	}
}

func (m *Metrics) request(code string) {
	if m != nil {
		m.requests.WithLabelValues(code).Inc()
	}
}
