package gateway

import (
	"net/http"
	"net/http/pprof"
	"sync/atomic"
)

// Admin serves the operator's endpoints on their own listener: /healthz
// (the process is alive), /readyz (it can serve: every deployment's keys are
// loaded and it is not shutting down), /metrics, and /debug/pprof/ when
// enabled.
type Admin struct {
	live     *Live
	metrics  *Metrics
	pprof    bool
	draining atomic.Bool
}

// NewAdmin returns the admin endpoints for live. metrics may be nil.
func NewAdmin(live *Live, metrics *Metrics, pprof bool) *Admin {
	return &Admin{live: live, metrics: metrics, pprof: pprof}
}

// Drain turns readiness off for good: load balancers stop sending new
// requests before the listener stops accepting them.
func (a *Admin) Drain() { a.draining.Store(true) }

// Ready reports what /readyz answers.
func (a *Admin) Ready() bool {
	return !a.draining.Load() && a.live.Current().Ready()
}

// Handler returns the admin mux.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		switch {
		case a.draining.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("shutting down\n"))
		case !a.live.Current().Ready():
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("keys not loaded\n"))
		default:
			_, _ = w.Write([]byte("ready\n"))
		}
	})
	if a.metrics != nil {
		mux.Handle("GET /metrics", a.metrics.Handler())
	}
	if a.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
