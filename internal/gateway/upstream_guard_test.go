package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// scanAll feeds data to a fresh scan of a response to method in pieces of
// size n (0: at once). It returns where the response ends when the scan
// retires the connection (-1 when it does not) and whether the scan still
// follows the connection (it did not give up).
func scanAll(method string, data []byte, n int) (end int, following bool) {
	var s responseScan
	s.start(method)
	if n <= 0 {
		n = len(data) + 1
	}
	for off := 0; off < len(data); off += n {
		chunk := data[off:min(off+n, len(data))]
		if e, retire := s.feed(chunk); retire {
			return off + e, true
		}
	}
	return -1, s.state != scanOff
}

// poison is a whole second response, as a backend writing past its own
// would send it.
const poison = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"

// responseScanCases are responses with where the scan must end them: the
// table of TestResponseScan and seeds of FuzzResponseScan.
var responseScanCases = []struct {
	name   string
	method string
	data   string
	// end is where the response ends when the connection is retired;
	// -1: it is not (nothing past the response, or the scan gave up).
	end int
}{
	{"204 then a second response", "GET", "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n" + poison, len("HTTP/1.1 204 No Content\r\nX: y\r\n\r\n")},
	{"204 alone retires too", "GET", "HTTP/1.1 204 No Content\r\n\r\n", len("HTTP/1.1 204 No Content\r\n\r\n")},
	{"304 with a Content-Length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 6\r\n\r\nPOISON", len("HTTP/1.1 304 Not Modified\r\nContent-Length: 6\r\n\r\n")},
	{"HEAD with a body", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON", len("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")},
	{"bare LF line ends", "GET", "HTTP/1.1 204 x\nA: b\n\n" + poison, len("HTTP/1.1 204 x\nA: b\n\n")},
	{"HTTP/1.0", "GET", "HTTP/1.0 204 x\r\n\r\n", len("HTTP/1.0 204 x\r\n\r\n")},
	{"100 Continue then 204", "POST", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" + poison,
		len("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")},
	{"Content-Length exact", "POST", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", -1},
	{"past Content-Length", "POST", "HTTP/1.1 200 OK\r\ncontent-length:  3 \r\n\r\nabc" + poison, len("HTTP/1.1 200 OK\r\ncontent-length:  3 \r\n\r\nabc")},
	{"Content-Length 0 then more", "POST", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + poison, len("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")},
	{"103 then 200 exact", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", -1},
	{"chunked exact", "POST", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n", -1},
	{"past chunked", "POST", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n" + poison,
		len("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n")},
	{"chunked wins over Content-Length", "POST", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n" + poison,
		len("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")},
	// Heads net/http accepts in odd shapes (found by an attack pass):
	// the scan must follow them all.
	{"HTTP/2.0 status line", "POST", "HTTP/2.0 204 No Content\r\nX-Own: a\r\n\r\n" + poison, len("HTTP/2.0 204 No Content\r\nX-Own: a\r\n\r\n")},
	{"two spaces before the code", "POST", "HTTP/1.1  204 No Content\r\n\r\n" + poison, len("HTTP/1.1  204 No Content\r\n\r\n")},
	{"two spaces, Content-Length", "POST", "HTTP/1.1  200 OK\r\nContent-Length: 1\r\n\r\nx" + poison, len("HTTP/1.1  200 OK\r\nContent-Length: 1\r\n\r\nx")},
	{"a long Content-Length line", "POST", "HTTP/1.1 200 OK\r\nContent-Length:" + strings.Repeat(" ", 70) + "7\r\n\r\n1234567" + poison,
		len("HTTP/1.1 200 OK\r\nContent-Length:" + strings.Repeat(" ", 70) + "7\r\n\r\n1234567")},
	{"leading zeros", "POST", "HTTP/1.1 200 OK\r\nContent-Length: " + strings.Repeat("0", 25) + "1\r\n\r\nx" + poison,
		len("HTTP/1.1 200 OK\r\nContent-Length: " + strings.Repeat("0", 25) + "1\r\n\r\nx")},
	{"folded Content-Length", "POST", "HTTP/1.1 200 OK\r\nContent-Length:\r\n 7\r\n\r\n1234567" + poison, len("HTTP/1.1 200 OK\r\nContent-Length:\r\n 7\r\n\r\n1234567")},
	{"a long Transfer-Encoding line", "POST", "HTTP/1.1 200 OK\r\nTransfer-Encoding:" + strings.Repeat(" ", 70) + "chunked\r\n\r\n0\r\n\r\n" + poison,
		len("HTTP/1.1 200 OK\r\nTransfer-Encoding:" + strings.Repeat(" ", 70) + "chunked\r\n\r\n0\r\n\r\n")},
	{"a status code with a plus", "POST", "HTTP/1.1 +20 x\r\nContent-Length: 0\r\n\r\n" + poison, len("HTTP/1.1 +20 x\r\nContent-Length: 0\r\n\r\n")},
	{"chunked with a bad Content-Length beside it", "POST", "HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + poison,
		len("HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")},
	{"HTTP/1.0 ignores Transfer-Encoding", "POST", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\nx" + poison, len("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\nx")},
	{"no length: the body ends with the connection", "GET", "HTTP/1.1 200 OK\r\n\r\nabc" + poison, -1},
	{"two different lengths: left to net/http", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab" + poison, -1},
	{"gzip transfer coding: left to net/http", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" + poison, -1},
	{"101", "GET", "HTTP/1.1 101 Switching Protocols\r\n\r\n" + poison, -1},
	{"not a status line", "GET", "garbage garbage garbage\r\n\r\n", -1},
	{"head not complete", "GET", "HTTP/1.1 204 No Content\r\nX: y\r\n", -1},
}

func TestResponseScan(t *testing.T) {
	tests := responseScanCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 2, 5, 13} {
				if got, _ := scanAll(tt.method, []byte(tt.data), n); got != tt.end {
					t.Errorf("pieces of %d: end = %d, want %d", n, got, tt.end)
				}
			}
		})
	}
}

// TestResponseScanIdleBytes: after a complete response, any byte read is
// unsolicited and retires the connection without being passed on.
func TestResponseScanIdleBytes(t *testing.T) {
	var s responseScan
	s.start(http.MethodGet)
	if _, retire := s.feed([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); retire {
		t.Fatal("a complete response retired the connection")
	}
	if end, retire := s.feed([]byte("HTTP/1.1 200 OK")); !retire || end != 0 {
		t.Fatalf("bytes after the response: end %d, retire %v; want 0, true", end, retire)
	}
	s.start(http.MethodGet) // the next request re-arms the scan
	if _, retire := s.feed([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); retire {
		t.Fatal("the next response retired the connection")
	}
}

// FuzzResponseScan checks the scan against net/http's own parser: where the
// scan ends a response, net/http's reading of the response and its body
// ends too; and how the bytes are split does not matter.
func FuzzResponseScan(f *testing.F) {
	f.Add([]byte("HTTP/1.1 204 No Content\r\nA: b\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), uint8(3), false)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 x\n\n"), uint8(1), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxyz"), uint8(0), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxyz"), uint8(2), true)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\nHTTP/1.1"), uint8(4), false)
	for _, tt := range responseScanCases {
		f.Add([]byte(tt.data), uint8(3), tt.method == http.MethodHead)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint8, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		end, following := scanAll(method, data, 0)
		if e, _ := scanAll(method, data, int(split)); e != end {
			t.Fatalf("end %d in pieces of %d, %d at once", e, split, end)
		}
		consumed, switched, ok := netHTTPConsumes(method, data)
		if !ok {
			return // net/http refuses the response: the exchange fails
		}
		switch {
		case end >= 0 && end != consumed:
			t.Fatalf("scan ends the response at %d, net/http at %d", end, consumed)
		case end < 0 && consumed < len(data) && !switched:
			// Whatever net/http reads to an end before more bytes, the scan
			// must end there too: a response it stopped following would
			// leave the rest to the next client.
			t.Fatalf("net/http's response ends at %d of %d bytes, the scan saw no end (following: %v)", consumed, len(data), following)
		}
	})
}

// netHTTPConsumes reads one final response to method from data, body
// included, as http.Transport does (1xx other than 101 skipped), and
// returns how many bytes that took. switched reports a 101, after which
// http.Transport hands the connection over and never reuses it.
func netHTTPConsumes(method string, data []byte) (consumed int, switched, ok bool) {
	r := bytes.NewReader(data)
	br := bufio.NewReader(r)
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return 0, false, false
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return 0, true, true
		}
		if 100 <= resp.StatusCode && resp.StatusCode < 200 {
			continue
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, false, false
		}
		return len(data) - r.Len() - br.Buffered(), false, true
	}
}
