package function

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// httpCaller invokes a function served as a plain HTTP endpoint. An HTTP
// request goes to the endpoint's URL joined with the path and query as
// received (method, headers and body the client's); any other request is a
// POST of its body to the URL itself. The answer is taken as is.
type httpCaller struct {
	base   string // the url without a trailing '/'
	client *http.Client
	tr     *http.Transport
}

func newHTTPCaller(url string) *httpCaller {
	tr := &http.Transport{
		Proxy:               nil, // a function endpoint is reached directly, never through HTTP_PROXY
		MaxIdleConns:        128,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// A function's head is bounded as a backend's is (1 MiB), so it
		// cannot make keygate buffer without limit.
		MaxResponseHeaderBytes: maxResponseHeader,
		ForceAttemptHTTP2:      true,
	}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect is the function's answer, for the client
	}}
	return &httpCaller{base: strings.TrimSuffix(url, "/"), client: client, tr: tr}
}

func (c *httpCaller) close() { c.tr.CloseIdleConnections() }

func (c *httpCaller) call(ctx context.Context, inv invocation) (*Response, error) {
	body, length := requestBody(inv.Request)
	method, target := http.MethodPost, c.base
	if inv.HTTP {
		method = orDefault(inv.Method, http.MethodGet)
		target = c.base + orDefault(inv.URL, "/")
	}
	hr, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	hr.ContentLength = length
	if inv.HTTP {
		for name, values := range inv.Header {
			if !hopHeaders[http.CanonicalHeaderKey(name)] {
				hr.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), values...)
			}
		}
	}
	if inv.ContentType != "" {
		hr.Header.Set("Content-Type", inv.ContentType)
	}
	hr.Header.Set("Fn-Call-Id", inv.callID)
	hr.Header.Set("Fn-Deadline", fnDeadline(inv.deadline))
	resp, err := c.client.Do(hr)
	if err != nil {
		return nil, err
	}
	if !finalStatus(resp.StatusCode) {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: status %d is not that of a final response (200 to 599)", ErrBadResponse, resp.StatusCode)
	}
	h := resp.Header.Clone()
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			h.Del(strings.TrimSpace(name)) // hop-by-hop, as Connection names it
		}
	}
	for name := range h {
		if hopHeaders[name] {
			delete(h, name)
		}
	}
	return &Response{Status: resp.StatusCode, Header: h, Body: resp.Body}, nil
}
