package gateway

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBackendHostFromContextVariables: a backend url's host may come from
// the request (OCI's ${request.subdomain[...]} or a header), and a value
// that is not a DNS name is refused (404 httpBackend.urlInvalid) before any
// connection: no port, user, path or IPv6 literal can be smuggled in.
func TestBackendHostFromContextVariables(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "reached "+r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	_, port, _ := net.SplitHostPort(backend.Listener.Addr().String())
	spec := map[string]any{"routes": []any{
		map[string]any{"path": "/h/{rest*}", "backend": map[string]any{"type": "HTTP_BACKEND",
			"url": "http://${request.headers[X-Region]}:" + port + "/by-header/${request.path[rest]}"}},
		map[string]any{"path": "/s", "backend": map[string]any{"type": "HTTP_BACKEND",
			"url": "http://${request.subdomain[example.com]}:" + port + "/by-subdomain"}},
	}}
	logs := &syncBuffer{}
	gw := httptest.NewServer(compileSpec(t, "/d", spec, nil, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
	t.Cleanup(gw.Close)
	tests := []struct {
		name, path, host, region string
		status                   int
		body                     string
	}{
		{"a header names the host", "/d/h/x", "", "127.0.0.1", 200, "reached /by-header/x"},
		{"a subdomain names the host", "/d/s", "localhost.example.com", "", 200, "reached /by-subdomain"},
		{"a user part", "/d/h/x", "", "evil.example@127.0.0.1", 404, ""},
		{"a port of its own", "/d/h/x", "", "127.0.0.1:22", 404, ""},
		{"a path", "/d/h/x", "", "127.0.0.1/admin", 404, ""},
		{"an IPv6 literal", "/d/h/x", "", "[::1]", 404, ""},
		{"empty", "/d/h/x", "", "", 404, ""},
		{"an empty label", "/d/h/x", "", "a..b", 404, ""},
		{"no such subdomain", "/d/s", "localhost.other.org", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, gw.URL+tt.path, nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.region != "" {
				req.Header.Set("X-Region", tt.region)
			}
			resp, err := gw.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || (tt.body != "" && string(body) != tt.body) {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.status == 404 && !strings.Contains(logs.String(), codeURLInvalid) {
				t.Error("no httpBackend.urlInvalid line in the log")
			}
		})
	}
}
