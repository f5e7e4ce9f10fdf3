package agent

import (
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves /healthz (200 while the process runs), /readyz (200
// while a valid token is held, else 503) and /metrics (reg's metrics, the
// held token's seconds to expiry, and the Go runtime's).
func AdminHandler(src *Source, reg *prometheus.Registry) http.Handler {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keygate_agent_token_expiry_seconds",
			Help: "Seconds until the held token expires; 0 without one."},
			func() float64 {
				exp := src.Expiry()
				if exp.IsZero() {
					return 0
				}
				return max(exp.Sub(src.cfg.Now()).Seconds(), 0)
			}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !src.Ready() {
			http.Error(w, "no valid token", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
