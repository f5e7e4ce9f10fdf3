package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
)

// ParseUpstream checks the --upstream URL: http or https, a host, an
// optional path prefix, and nothing else.
func ParseUpstream(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("--upstream %q: %v", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("--upstream %q: scheme %q is not http or https", raw, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("--upstream %q: no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("--upstream %q: credentials in the URL would be forwarded; remove them", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("--upstream %q: want scheme://host[:port][/prefix], without query or fragment", raw)
	}
	return u, nil
}

type tokenKey struct{}

// NewProxy returns a handler that forwards each request to upstream (its
// path appended to upstream's path) with Authorization: Bearer and a fresh
// token from src. Nothing else changes: method, path, query, headers
// (X-Forwarded-* included, none added) and body pass as they came, except
// the hop-by-hop headers HTTP requires a proxy to drop. Without a valid
// token it answers 503 and sends nothing upstream; an unreachable upstream
// is a 502. transport nil means http.DefaultTransport.
func NewProxy(upstream *url.URL, src *Source, transport http.RoundTripper, m *Metrics, log *slog.Logger) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			// SetURL sends the upstream's Host; Rewrite dropped the
			// X-Forwarded-* headers the app sent: put them back as they were.
			for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
			pr.Out.Header.Set("Authorization", "Bearer "+pr.In.Context().Value(tokenKey{}).(string))
		},
		Transport: transport,
		ModifyResponse: func(r *http.Response) error {
			m.request(strconv.Itoa(r.StatusCode))
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the app went away; nobody to answer
			}
			m.request("502")
			log.Error("upstream unreachable", "method", r.Method, "path", r.URL.Path, "error", err.Error())
			http.Error(w, "keygate agent: upstream unreachable", http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := src.Token()
		if err != nil {
			m.request("503")
			log.Error("request not forwarded: no token", "method", r.Method, "path", r.URL.Path, "error", err.Error())
			http.Error(w, "keygate agent: no valid token to send (see the agent's log)", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	})
}
