package gateway

import (
	"net/http"
	"strconv"
)

// stockBackend answers a STOCK_RESPONSE_BACKEND route itself. Its response
// is rendered once at compile time; a request only copies it.
type stockBackend struct {
	status  int
	body    []byte
	headers http.Header
}

func newStockBackend(status int, body string, headers http.Header) *stockBackend {
	h := headers.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &stockBackend{status: status, body: []byte(body), headers: h}
}

func (s *stockBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for name, values := range s.headers {
		h[name] = values
	}
	// The client's body is never read: net/http drains a small one and
	// closes the connection on a large one, so an upload cannot pin the
	// gateway (attack R9).
	w.WriteHeader(s.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(s.body)
	}
}
