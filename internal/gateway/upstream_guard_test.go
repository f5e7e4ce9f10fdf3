package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// scanAll feeds data to a fresh scan in pieces of size n (0: at once) and
// returns the end it reports, or -1 when the head is not a bodyless one.
func scanAll(data []byte, n int) int {
	var s headScan
	s.start()
	if n <= 0 {
		n = len(data) + 1
	}
	for off := 0; off < len(data); off += n {
		chunk := data[off:min(off+n, len(data))]
		if end, bodyless := s.feed(chunk); bodyless {
			return off + end
		}
	}
	return -1
}

func TestHeadScan(t *testing.T) {
	const poison = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"
	tests := []struct {
		name string
		data string
		// end is where the bodyless head ends (the bytes the transport
		// gets); -1: the connection is left to http.Transport.
		end int
	}{
		{"204 then a second response", "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n" + poison, len("HTTP/1.1 204 No Content\r\nX: y\r\n\r\n")},
		{"304 alone", "HTTP/1.1 304 Not Modified\r\n\r\n", len("HTTP/1.1 304 Not Modified\r\n\r\n")},
		{"bare LF line ends", "HTTP/1.1 204 x\nA: b\n\n" + poison, len("HTTP/1.1 204 x\nA: b\n\n")},
		{"HTTP/1.0", "HTTP/1.0 204 x\r\n\r\n", len("HTTP/1.0 204 x\r\n\r\n")},
		{"100 Continue then 204", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" + poison,
			len("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")},
		{"103 then 200", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", -1},
		{"200", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", -1},
		{"2040 (net/http refuses it: the exchange fails anyway)", "HTTP/1.1 2040 x\r\n\r\n", len("HTTP/1.1 2040 x\r\n\r\n")},
		{"101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", -1},
		{"not a status line", "garbage garbage garbage\r\n\r\n", -1},
		{"HTTP/2 preface-like", "HTTP/2 204 x\r\n\r\n", -1},
		{"head not complete", "HTTP/1.1 204 No Content\r\nX: y\r\n", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 2, 5, 13} {
				if got := scanAll([]byte(tt.data), n); got != tt.end {
					t.Errorf("pieces of %d: end = %d, want %d", n, got, tt.end)
				}
			}
		})
	}
}

// FuzzHeadScan checks the scan against net/http's own parser: where the
// scan ends a 204 or 304 head, http.ReadResponse reads exactly that head
// and a 204 or 304; and how the bytes are split does not matter.
func FuzzHeadScan(f *testing.F) {
	f.Add([]byte("HTTP/1.1 204 No Content\r\nA: b\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), uint8(3))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 x\n\n"), uint8(1))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		whole := scanAll(data, 0)
		if pieces := scanAll(data, int(split)); pieces != whole {
			t.Fatalf("end %d in pieces of %d, %d at once", pieces, split, whole)
		}
		if whole < 0 {
			return
		}
		if !bytes.HasSuffix(data[:whole], []byte("\n")) {
			t.Fatalf("end %d is not at a line end", whole)
		}
		br := bufio.NewReader(bytes.NewReader(data[:whole]))
		for {
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
			if err != nil {
				return // malformed: net/http refuses it and the exchange fails
			}
			if resp.StatusCode >= 200 || resp.StatusCode == 101 {
				if resp.StatusCode != 204 && resp.StatusCode != 304 {
					t.Fatalf("scan ended a head that net/http reads as %d", resp.StatusCode)
				}
				if rest, _ := io.ReadAll(br); len(rest) != 0 && strings.TrimSpace(string(rest)) != "" {
					t.Fatalf("net/http's head ends %d bytes before the scan's", len(rest))
				}
				return
			}
		}
	})
}
