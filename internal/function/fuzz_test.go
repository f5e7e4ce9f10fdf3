package function

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzFDKResponse feeds decodeFDKResponse what a function controls in its
// FDK answer: the Fn-Http-Status value and a response header. It must never
// panic, give a final status only, and never pass a hop-by-hop header.
func FuzzFDKResponse(f *testing.F) {
	f.Add("200", "Fn-Http-H-X-A", "v")
	f.Add("101", "Fn-Http-H-Connection", "close")
	f.Add(" 404 ", "Fn-Http-H-", "x")
	f.Add("abc", "Fn-Http-H-transfer-encoding", "chunked")
	f.Add("", "Content-Type", "text/plain")
	f.Fuzz(func(t *testing.T, status, name, value string) {
		h := http.Header{}
		if status != "" {
			h.Set("Fn-Http-Status", status)
		}
		h[name] = []string{value}
		resp := &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader("body"))}
		out, err := decodeFDKResponse(resp)
		if err != nil {
			return
		}
		if out.Status < 200 || out.Status > 599 {
			t.Fatalf("status %d from %q", out.Status, status)
		}
		for k := range out.Header {
			if hopHeaders[http.CanonicalHeaderKey(k)] {
				t.Fatalf("hop-by-hop header %q passed", k)
			}
		}
	})
}
