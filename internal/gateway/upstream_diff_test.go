package gateway

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// upstreamCase is one backend behaviour for TestUpstreamPathsAgree: serve
// answers each request head the backend reads on a connection (index is
// the connection's number, request the request's number on it) and
// reports whether the connection stays open for another.
type upstreamCase struct {
	name     string
	method   string
	requests int           // sent one after the other; default 1
	pause    time.Duration // between them
	serve    func(c net.Conn, index, request int) bool
	// gzipWhenAsked: the backend answers "hello" gzipped when the request
	// carries Accept-Encoding: gzip, else plain (serve is unused).
	gzipWhenAsked bool
}

func writeAndKeep(s string) func(net.Conn, int, int) bool {
	return func(c net.Conn, _, _ int) bool {
		_, _ = io.WriteString(c, s)
		return true
	}
}

func writeAndClose(s string) func(net.Conn, int, int) bool {
	return func(c net.Conn, _, _ int) bool {
		_, _ = io.WriteString(c, s)
		return false
	}
}

var upstreamCases = []upstreamCase{
	{name: "content-length", serve: writeAndKeep("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Custom: a\r\nContent-Length: 5\r\n\r\nhello")},
	{name: "chunked", serve: writeAndKeep("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")},
	{name: "close-delimited", serve: writeAndClose("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")},
	{name: "HTTP/1.0", serve: writeAndClose("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")},
	{name: "103 then 200", serve: writeAndKeep("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
	{name: "100 nobody asked for", serve: writeAndKeep("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
	{name: "204", serve: writeAndKeep("HTTP/1.1 204 No Content\r\nX-Custom: b\r\n\r\n")},
	{name: "304", serve: writeAndKeep("HTTP/1.1 304 Not Modified\r\nEtag: \"v1\"\r\n\r\n")},
	{name: "HEAD with a length", method: http.MethodHead,
		serve: writeAndKeep("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n")},
	{name: "HEAD chunked", method: http.MethodHead, serve: writeAndKeep("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")},
	{name: "trailers", serve: writeAndKeep("HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n")},
	{name: "500 with a body", serve: writeAndKeep("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")},
	{name: "slow head and body", serve: func(c net.Conn, _, _ int) bool {
		for _, part := range []string{"HTTP/1.1 200 OK\r\n", "Content-Length: 6\r\n\r\n", "sl", "ow", "ly"} {
			_, _ = io.WriteString(c, part)
			time.Sleep(30 * time.Millisecond)
		}
		return true
	}},
	{name: "mid-body close", serve: writeAndClose("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")},
	{name: "mid-chunk close", serve: writeAndClose("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")},
	{name: "close before any byte", serve: func(net.Conn, int, int) bool { return false }},
	{name: "garbage status line", serve: writeAndClose("HTTP/1.1 two hundred OK\r\n\r\n")},
	{name: "status under 100", serve: writeAndClose("HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n")},
	{name: "conflicting lengths", serve: writeAndClose("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok")},
	{name: "oversized head", serve: writeAndClose("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", maxResponseHeader+1) +
		"\r\nContent-Length: 2\r\n\r\nok")},
	{name: "idle close between requests", requests: 2, pause: 300 * time.Millisecond,
		serve: func(c net.Conn, _, _ int) bool {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(50 * time.Millisecond) // then the backend drops the idle connection
			return false
		}},
	{name: "keep-alive reuse", requests: 3, serve: func(c net.Conn, index, request int) bool {
		_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d", request)
		return true
	}},
	{name: "Connection: close", requests: 2, serve: writeAndClose("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")},
	// A backend that compresses when the request accepts gzip: what the
	// client gets must not depend on the path adding Accept-Encoding.
	{name: "gzip when asked", gzipWhenAsked: true},
}

// serveGzipWhenAsked answers every request "hello", gzipped when the
// request accepts gzip.
func serveGzipWhenAsked(rb *rawBackend, c net.Conn, br *bufio.Reader) {
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		req.Body.Close()
		rb.requests.Add(1)
		if !strings.Contains(req.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			continue
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = io.WriteString(zw, "hello")
		_ = zw.Close()
		_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", z.Len(), z.Bytes())
	}
}

// upstreamOutcome is what a client of the gateway gets: the status and the
// headers that matter to it, the body, and how the exchange failed if it
// did ("" when it did not).
type upstreamOutcome struct {
	Status                         int
	ContentType, ContentLength     string
	TransferEncoding               []string
	Custom, Etag, Link, Connection string
	ContentEncoding                string
	Trailer                        http.Header
	Body                           string
	Failure                        string
}

func fetchOutcome(client *http.Client, method, url string) upstreamOutcome {
	req, _ := http.NewRequest(method, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return upstreamOutcome{Failure: "request failed"}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	o := upstreamOutcome{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		ContentLength: resp.Header.Get("Content-Length"), TransferEncoding: resp.TransferEncoding,
		Custom: resp.Header.Get("X-Custom"), Etag: resp.Header.Get("Etag"), Link: resp.Header.Get("Link"),
		Connection: resp.Header.Get("Connection"), ContentEncoding: resp.Header.Get("Content-Encoding"),
		Trailer: resp.Trailer, Body: string(body)}
	if err != nil {
		o.Failure = "body cut short"
	}
	return o
}

// TestUpstreamPathsAgree sends every backend behaviour of upstreamCases
// through the same gateway configuration twice: once with the inline
// upstream path (upstream.go) and once with every exchange on
// http.Transport (Options.DisableInlineUpstream). A client must get the
// same status, headers, body and failure from both; the backend must see
// the same number of requests (neither path retries what the other does
// not).
func TestUpstreamPathsAgree(t *testing.T) {
	for _, tc := range upstreamCases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			requests := max(tc.requests, 1)
			var outcomes [2][]upstreamOutcome
			var seen [2]int32
			for i, inlineOff := range []bool{false, true} {
				rb := newRawBackend(t, func(rb *rawBackend, c net.Conn, br *bufio.Reader, index int) {
					if tc.gzipWhenAsked {
						serveGzipWhenAsked(rb, c, br)
						return
					}
					for n := 0; rb.readRequest(br); n++ {
						if !tc.serve(c, index, n) {
							return
						}
					}
				})
				g := compileSpec(t, "/d", routesSpec(httpRoute("/r", nil, rb.url()+"/r", nil)), nil,
					Options{DisableAccessLog: true, DisableInlineUpstream: inlineOff})
				srv := httptest.NewServer(g)
				// The client sends no Accept-Encoding and decodes nothing, so it
				// sees exactly what the gateway sends.
				client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
				for n := 0; n < requests; n++ {
					if n > 0 {
						time.Sleep(tc.pause)
					}
					outcomes[i] = append(outcomes[i], fetchOutcome(client, method, srv.URL+"/d/r"))
				}
				client.CloseIdleConnections()
				srv.Close()
				seen[i] = rb.requests.Load()
			}
			if !reflect.DeepEqual(outcomes[0], outcomes[1]) {
				t.Errorf("inline path:\n%+v\nhttp.Transport:\n%+v", outcomes[0], outcomes[1])
			}
			if seen[0] != seen[1] {
				t.Errorf("backend read %d requests from the inline path, %d from http.Transport", seen[0], seen[1])
			}
			if t.Failed() {
				return
			}
			t.Logf("both: %+v", outcomes[0])
		})
	}
}
