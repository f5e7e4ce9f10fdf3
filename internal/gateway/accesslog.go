package gateway

import (
	"log/slog"
	"net/http"
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
// may travel there (RFC 6750 §5.3).
func (g *Gateway) withAccessLog(next http.Handler) http.Handler {
	if !g.accessLog && g.metrics == nil && g.activity == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		ex := exchangeFrom(r)
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
		attrs := []slog.Attr{
			slog.String("opcRequestId", ex.requestID),
			slog.String("method", r.Method),
			slog.String("path", ex.loggedPath(r)),
			slog.Int("status", status),
			slog.Float64("durationMs", float64(g.now().Sub(ex.start).Microseconds())/1000),
			slog.Int64("bytes", rec.bytes),
		}
		if ex.dep != nil {
			attrs = append(attrs, slog.String("deployment", ex.dep.prefix))
		}
		if ex.route != nil {
			attrs = append(attrs, slog.String("route", ex.route.path))
		}
		if ex.cache != nil {
			attrs = append(attrs, slog.String("cache", ex.cache.state.String()))
		}
		g.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
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
