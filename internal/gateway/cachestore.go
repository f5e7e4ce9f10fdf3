package gateway

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Why a response is not stored (metrics and the debug log).
const (
	notStoredStatus     = "status"
	notStoredSetCookie  = "set_cookie"
	notStoredNoStore    = "no_store"
	notStoredVary       = "vary_star"
	notStoredTrailers   = "trailers"
	notStoredTooLarge   = "too_large"
	notStoredIncomplete = "incomplete"
	notStoredFailed     = "cache_unavailable"
)

// cacheableStatus: OCI stores 200, 204, 301 and 410 only.
func cacheableStatus(status int) bool {
	switch status {
	case http.StatusOK, http.StatusNoContent, http.StatusMovedPermanently, http.StatusGone:
		return true
	}
	return false
}

// unstoredHeaders are response headers an entry never keeps: the
// gateway's own per-request ones, and hop-by-hop ones.
var unstoredHeaders = map[string]bool{
	"Opc-Request-Id": true, cacheStatusHeader: true, "Age": true, "Set-Cookie": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// notStorable says why a response with status and header h may not be
// stored, or "". Set-Cookie: a session handed to one client must never
// reach another (OPEN in oci-policies.md §10). Cache-Control no-store or
// private: the backend says the response is one client's (OCI ignores
// Cache-Control; keygate honours these two, see the README). Vary: *
// matches no request. Trailers are not kept.
func notStorable(status int, h http.Header, maxEntry int) string {
	switch {
	case !cacheableStatus(status):
		return notStoredStatus
	case len(h["Set-Cookie"]) > 0:
		return notStoredSetCookie
	case len(h["Trailer"]) > 0:
		return notStoredTrailers
	}
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			d, _, _ = strings.Cut(strings.TrimSpace(d), "=")
			if strings.EqualFold(d, "no-store") || strings.EqualFold(d, "private") {
				return notStoredNoStore
			}
		}
	}
	for _, name := range varyNames(h) {
		if name == "*" {
			return notStoredVary
		}
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > int64(maxEntry) {
			return notStoredTooLarge
		}
	}
	return ""
}

// varyNames lists the header names of a response's Vary, canonical.
func varyNames(h http.Header) []string {
	var names []string
	for _, v := range h["Vary"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, http.CanonicalHeaderKey(name))
			}
		}
	}
	return names
}

// cacheWriter is the writer a MISS or BYPASS reaches the backend with: it
// sets X-Cache-Status on the final response (over any the backend sent)
// and, on a MISS, keeps a copy of a storable response up to the bound. A
// larger one streams on uncached.
type cacheWriter struct {
	http.ResponseWriter
	cx      *cacheExchange
	head    bool
	max     int
	wrote   bool
	storing bool
	status  int
	header  http.Header
	body    []byte
	size    int64
}

func (cw *cacheWriter) WriteHeader(status int) {
	if cw.wrote || status < 200 {
		cw.ResponseWriter.WriteHeader(status) // informational, or a second call net/http reports
		return
	}
	cw.wrote = true
	h := cw.ResponseWriter.Header()
	h.Set(cacheStatusHeader, cw.cx.state.String())
	if cw.cx.state == cacheMiss {
		if why := notStorable(status, h, cw.max); why != "" {
			cw.cx.why = why
		} else {
			cw.storing, cw.status = true, status
			cw.header = make(http.Header, len(h))
			for name, values := range h {
				if !unstoredHeaders[name] {
					cw.header[name] = append([]string(nil), values...)
				}
			}
		}
	}
	cw.ResponseWriter.WriteHeader(status)
}

func (cw *cacheWriter) Write(p []byte) (int, error) {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	n, err := cw.ResponseWriter.Write(p)
	cw.size += int64(n)
	if cw.storing {
		switch {
		case err != nil:
			cw.stop(notStoredIncomplete)
		case len(cw.body)+n > cw.max:
			cw.stop(notStoredTooLarge)
		default:
			cw.body = append(cw.body, p[:n]...)
		}
	}
	return n, err
}

// stop gives up storing: the copy is dropped, the response streams on.
func (cw *cacheWriter) stop(why string) {
	cw.storing, cw.body, cw.header = false, nil, nil
	cw.cx.why = why
}

// Flush passes flushes through, so streamed responses stay streamed.
func (cw *cacheWriter) Flush() {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	if f, ok := cw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (cw *cacheWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// store puts the response cw kept into the cache, once the backend's
// response is complete (a body cut short panics out of the proxy before
// this runs; one shorter than its Content-Length is not stored either).
func (p *cachePolicy) store(ex *exchange, r *http.Request, cw *cacheWriter) {
	cx := cw.cx
	if cw.storing && !cw.head {
		if cl := cw.header.Get("Content-Length"); cl != "" && cl != strconv.FormatInt(cw.size, 10) {
			cw.stop(notStoredIncomplete)
		}
	}
	if !cw.storing {
		if !cw.wrote {
			cx.why = notStoredIncomplete
		}
		p.counters.notStored(cx.why)
		p.debug(ex, codeCacheStoreAborted, "response cache: not stored", slog.String("reason", cx.why))
		return
	}
	e := &cacheEntry{storedAt: p.now(), status: cw.status, header: cw.header, body: cw.body}
	names := varyNames(cw.header)
	if ce := cw.header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") && !slices.Contains(names, "Accept-Encoding") {
		// A compressed body is for clients that accept its encoding, Vary
		// or not (backends that compress often leave Vary out).
		names = append(names, "Accept-Encoding")
	}
	for _, name := range names {
		// Every spelling a backend folding '_' into '-' read as name.
		e.vary = append(e.vary, headerValues{name: name, values: foldedHeaderValues(r.Header, name)})
	}
	if err := p.cache.set(ex.ctx, cx.key, e.encode(), p.ttl); err != nil {
		cx.why = notStoredFailed
		p.counters.notStored(notStoredFailed)
		return
	}
	p.counters.stored()
	p.debug(ex, codeCacheStored, "response cache: stored", slog.Int("bytes", len(cw.body)))
}
