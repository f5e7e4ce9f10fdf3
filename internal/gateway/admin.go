package gateway

import (
	"net/http"
	"net/http/pprof"
	"sync/atomic"
)

// Admin serves the operator's endpoints on their own listener: /healthz
// (the process is alive), /readyz (it can serve: every deployment's keys
// loaded once, and not shutting down), /metrics, /debug/pprof/ when
// enabled, and the console (package console) at every other path. The
// console guards itself; the endpoints stay open for probes and Prometheus.
//
// Readiness waits for the keys only until the instance has been ready once.
// A remote JWKS that a later reload adds and that does not load makes its
// own deployment answer 503 (logged, and counted in the JWKS metrics), but
// does not take the instance out of its load balancer: a ConfigMap edit
// reaches every replica at once, and one bad JWKS URI would otherwise
// empty the Service of all of them. Loaded key sets never unload (a failed
// refresh keeps the last good keys).
type Admin struct {
	live      *Live
	metrics   *Metrics
	pprof     bool
	draining  atomic.Bool
	readyOnce atomic.Bool
	// console serves every other path; nil for none.
	console http.Handler
}

// ServeConsole makes h answer every path the admin endpoints do not (the
// console at /). Call it before Handler.
func (a *Admin) ServeConsole(h http.Handler) { a.console = h }

// NewAdmin returns the admin endpoints for live. metrics may be nil.
func NewAdmin(live *Live, metrics *Metrics, pprof bool) *Admin {
	return &Admin{live: live, metrics: metrics, pprof: pprof}
}

// Drain turns readiness off for good: load balancers stop sending new
// requests before the listener stops accepting them.
func (a *Admin) Drain() { a.draining.Store(true) }

// Ready reports what /readyz answers.
func (a *Admin) Ready() bool {
	return !a.draining.Load() && a.keysReady()
}

// keysReady reports whether the keys allow serving: all loaded, or loaded
// once before (see Admin).
func (a *Admin) keysReady() bool {
	if a.readyOnce.Load() {
		return true
	}
	if a.live.Current().Ready() {
		a.readyOnce.Store(true)
		return true
	}
	return false
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
		case !a.keysReady():
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("keys not loaded\n"))
			for _, why := range a.live.Current().NotReady() {
				_, _ = w.Write([]byte(why + "\n"))
			}
		case !a.live.Current().Ready():
			_, _ = w.Write([]byte("ready; a JWKS added by a reload has not loaded, its deployment answers 503\n"))
		default:
			_, _ = w.Write([]byte("ready\n"))
		}
	})
	if a.metrics != nil {
		mux.Handle("GET /metrics", a.metrics.Handler())
	}
	if a.console != nil {
		mux.Handle("/", a.console)
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
