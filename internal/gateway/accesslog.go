package gateway

import (
	"log/slog"
	"net/http"
	"time"
)

// recorder remembers the status and body size of a response for the access
// log. Unwrap lets http.ResponseController reach the connection beneath.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rec *recorder) WriteHeader(status int) {
	// An informational response (103 Early Hints...) precedes the final
	// status; 101 is final (the connection changes protocol).
	if rec.status == 0 && (status >= 200 || status == http.StatusSwitchingProtocols) {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

// Flush passes flushes through, so streamed backend responses stay streamed.
func (rec *recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// withAccessLog writes one line per request once it is answered, and counts
// it in the metrics. The path is logged without its query string: a token
// may travel there (RFC 6750 §5.3). The line goes to Options.AccessLog,
// encoded without slog, or else to the logger as a slog record with the
// same fields.
func (g *Gateway) withAccessLog(next http.Handler) http.Handler {
	if !g.accessLog && g.metrics == nil && g.activity == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		rec := &ex.recorder // held in the exchange: no allocation of its own
		rec.ResponseWriter = w
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		if ex.decision == nil {
			g.metrics.request(ex, r.Method, status)
			g.activity.request(ex.start)
		}
		if !g.accessLog || ex.dep != nil && !ex.dep.accessLog {
			return
		}
		end := g.now()
		if g.accessLines != nil {
			f := accessFields{at: end, requestID: ex.requestID, method: r.Method, path: ex.loggedPath(r),
				status: status, durationMs: durationMs(end.Sub(ex.start)), bytes: rec.bytes}
			switch {
			case ex.route != nil:
				f.tail = ex.route.accessTail
			case ex.dep != nil:
				f.tail = ex.dep.accessTail
			}
			if c := ex.usageClient; c != nil {
				f.subscriber = c.subscriber.label
			}
			if ex.cache != nil {
				f.cache = ex.cache.state.String()
			}
			g.accessLines.write(&f)
			return
		}
		attrs := []slog.Attr{
			slog.String("opcRequestId", ex.requestID),
			slog.String("method", r.Method),
			slog.String("path", ex.loggedPath(r)),
			slog.Int("status", status),
			slog.Float64("durationMs", durationMs(end.Sub(ex.start))),
			slog.Int64("bytes", rec.bytes),
		}
		if ex.dep != nil {
			attrs = append(attrs, slog.String("deployment", ex.dep.prefix))
		}
		if ex.route != nil {
			attrs = append(attrs, slog.String("route", ex.route.path))
		}
		if c := ex.usageClient; c != nil {
			attrs = append(attrs, slog.String("subscriber", c.subscriber.label))
		}
		if ex.cache != nil {
			attrs = append(attrs, slog.String("cache", ex.cache.state.String()))
		}
		g.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// durationMs is d in milliseconds with microsecond precision.
func durationMs(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// preencodeAccessLog encodes each deployment's and route's fields of the
// access line once, so a request only copies them.
func (g *Gateway) preencodeAccessLog() {
	if g.accessLines == nil {
		return
	}
	for _, dep := range g.deployments {
		dep.accessTail = g.accessLines.accessTail(dep.prefix, "")
		for _, rt := range dep.routes {
			rt.accessTail = g.accessLines.accessTail(dep.prefix, rt.path)
		}
	}
}

// loggedPath is the path the access log shows: the canonical request path
// once routing accepted it; before that, a bounded copy of what arrived.
func (ex *exchange) loggedPath(r *http.Request) string {
	if ex.escapedPath != "" {
		return ex.escapedPath
	}
	p := r.URL.EscapedPath()
	if len(p) > 256 {
		p = p[:256] + "..."
	}
	return p
}
