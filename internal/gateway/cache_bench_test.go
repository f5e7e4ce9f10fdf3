package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkChainResponseCache is an anonymous GET route forwarding to an
// HTTP_BACKEND on loopback (a 1 KiB body), measured in one run:
//   - none: the route without cache policies (the baseline);
//   - miss-store: with them, every request a new query string: a lookup
//     that misses, the backend, and the store (two Redis round trips);
//   - hit: the same request every time, answered from Redis (one round
//     trip, no backend).
//
// Redis is a local redis-server. Run it with
//
//	go test -run '^$' -bench ChainResponseCache -benchtime 2s -count 3 ./internal/gateway/
func BenchmarkChainResponseCache(b *testing.B) {
	body := strings.Repeat("x", 1024)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(body))
	}))
	b.Cleanup(backend.Close)
	rs := startRedis(b, "")
	client := redis.NewClient(&redis.Options{Addr: rs.addr, MaxRetries: -1})
	b.Cleanup(func() { client.Close() })
	cache := NewResponseCache(client, ResponseCacheOptions{Logger: slog.New(slog.DiscardHandler), Timeout: time.Second})
	runs := 0
	for _, row := range []string{"none", "miss-store", "hit"} {
		b.Run(row, func(b *testing.B) {
			runs++
			run := strconv.Itoa(runs) + "-"
			var lookup map[string]any
			if row != "none" {
				lookup = lookupPolicy(false)
			}
			g := compileSpec(b, "/x", map[string]any{"routes": []any{cachedRoute("/r", backend.URL+"/", nil, lookup)}}, nil,
				Options{DisableAccessLog: true, Logger: slog.New(slog.DiscardHandler), ResponseCache: cache})
			req := httptest.NewRequest(http.MethodGet, "http://gw.test/x/r", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			w := &benchWriter{header: http.Header{}}
			g.ServeHTTP(w, req) // stores the entry the hit row reads
			want := map[string]string{"none": "", "miss-store": "MISS", "hit": "HIT"}[row]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				w.reset()
				if row == "miss-store" {
					req.URL.RawQuery = "i=" + run + strconv.Itoa(i)
				}
				g.ServeHTTP(w, req)
				if w.status != http.StatusOK || w.bytes != len(body) || w.header.Get(cacheStatusHeader) != want {
					b.Fatalf("status %d, %d bytes, X-Cache-Status %q; want 200, %d, %q", w.status, w.bytes, w.header.Get(cacheStatusHeader), len(body), want)
				}
			}
		})
	}
}
