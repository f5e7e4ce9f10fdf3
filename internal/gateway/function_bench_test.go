package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
)

// BenchmarkChainFunction compares a function backend with an HTTP_BACKEND
// running the same code: a handler answering 200 with a small JSON body.
// HTTP_BACKEND is the baseline row (loopback TCP, keep-alive); function-fdk
// reaches the code through the Fn FDK http-stream protocol on a unix socket
// (a Go server speaking it in-process, as fdk-go does); function-url through
// a url: entry (plain HTTP on loopback TCP). Run with
//
//	go test -run '^$' -bench ChainFunction -benchtime 2s -count 3 ./internal/gateway/
func BenchmarkChainFunction(b *testing.B) {
	answer := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		answer(w)
	}))
	defer plain.Close()
	socket := fnSocket(b, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Fn-Http-Status", "200")
		answer(w)
	})
	fns := []config.Function{
		{ID: "fdk", Listener: "unix:" + socket, TimeoutMillis: 30000},
		{ID: "url", URL: plain.URL, TimeoutMillis: 30000},
	}
	reg, err := function.New(fns, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	spec := routesSpec(
		map[string]any{"path": "/http", "methods": []any{"GET"}, "backend": map[string]any{"type": "HTTP_BACKEND", "url": plain.URL + "/"}},
		map[string]any{"path": "/fdk", "methods": []any{"GET"}, "backend": map[string]any{"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "fdk"}},
		map[string]any{"path": "/url", "methods": []any{"GET"}, "backend": map[string]any{"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "url"}},
	)
	g := compileSpec(b, "/b", spec, &config.Gateway{Functions: fns},
		Options{Logger: slog.New(slog.DiscardHandler), DisableAccessLog: true, Functions: reg})
	for _, row := range []struct{ name, path string }{
		{"HTTP_BACKEND", "/b/http"},
		{"function-fdk", "/b/fdk"},
		{"function-url", "/b/url"},
	} {
		b.Run(row.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, httptest.NewRequest("GET", row.path, nil))
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
