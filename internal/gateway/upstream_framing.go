package gateway

import (
	"bytes"
	"net/http"
)

// responseScan follows the responses on an HTTP/1.1 connection that
// http.Transport reads, far enough to know where each one ends: the status
// line, the framing headers (Content-Length, Transfer-Encoding: chunked) and
// the body's framing. It never changes what http.Transport reads; it only
// finds the point after which any byte does not belong to the response:
//
//   - a response to HEAD, a 204 or a 304 ends with its head, and its
//     connection is never reused, even when nothing follows;
//   - a response with a body ends with its last byte (Content-Length, or the
//     chunked body's last chunk and trailers); bytes after it in the same
//     read, or while the connection is idle, are a backend writing past its
//     response.
//
// Where the framing is anything else (no length: the body ends with the
// connection; a Transfer-Encoding other than chunked; a conflicting or
// overlong framing header; a folded header line) the scan stops and leaves
// the connection to http.Transport, which refuses most of those itself.
type responseScan struct {
	state  scanState
	isHead bool // the request was HEAD

	status [12]byte // "HTTP/1.1 204"
	got    int      // status bytes collected
	code   int
	http10 bool // an HTTP/1.0 response: Transfer-Encoding means nothing

	line      [64]byte // the start of the current header line
	lineLen   int      // its length, CR not counted (may exceed len(line))
	firstLine bool     // the current line is the status line

	contentLength int64 // -1: none
	chunked       bool
	unknown       bool  // framing the scan does not follow
	remaining     int64 // bytes left of the body or of the current chunk
	sizeDigits    int   // hex digits of the current chunk size
}

type scanState uint8

const (
	scanOff       scanState = iota // not watching until the next request
	scanStatus                     // collecting the status line's first 12 bytes
	scanHead                       // header lines up to the empty line
	scanBody                       // remaining bytes of a body or a chunk
	scanChunkSize                  // a chunk-size line
	scanChunkExt                   // the rest of a chunk-size line (extensions)
	scanChunkEnd                   // the CRLF after a chunk's data
	scanTrailer                    // trailer lines after the last chunk
	scanDone                       // the response is complete
)

// maxChunkSize bounds the chunk sizes the scan adds up (1 TiB): a larger
// one is not followed.
const maxChunkSize = 1 << 40

// start watches the response to a request about to be written.
func (s *responseScan) start(method string) {
	*s = responseScan{state: scanStatus, isHead: method == http.MethodHead}
}

// feed scans b, the next bytes read from the connection. end is the length
// of b that belongs to the current response; retire says that the
// connection must not carry another request (a bodyless response ended, or
// bytes came after the response's end; those bytes are b[end:]).
func (s *responseScan) feed(b []byte) (end int, retire bool) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch s.state {
		case scanOff:
			return len(b), false
		case scanDone:
			return i, true
		case scanStatus:
			s.status[s.got] = c
			if s.got++; s.got < len(s.status) {
				continue
			}
			code, ok := statusCode(s.status)
			if !ok || code == http.StatusSwitchingProtocols {
				s.state = scanOff
				continue
			}
			s.code, s.http10 = code, s.status[7] == '0'
			s.state, s.lineLen, s.firstLine = scanHead, s.got, true
			s.contentLength, s.chunked, s.unknown = -1, false, false
		case scanHead, scanTrailer:
			switch c {
			case '\r':
				continue
			case '\n':
			default:
				if s.lineLen < len(s.line) {
					s.line[s.lineLen] = c
				}
				s.lineLen++
				continue
			}
			if s.lineLen > 0 {
				if s.state == scanHead && !s.firstLine {
					s.headerLine()
				}
				s.lineLen, s.firstLine = 0, false
				continue
			}
			if s.state == scanTrailer {
				if e, r, done := s.complete(b, i, false); done {
					return e, r
				}
				continue
			}
			if e, r, done := s.headEnded(b, i); done {
				return e, r
			}
		case scanBody:
			n := int64(len(b) - i)
			if n > s.remaining {
				n = s.remaining
			}
			s.remaining -= n
			i += int(n) - 1
			if s.remaining > 0 {
				continue
			}
			if s.chunked {
				s.state = scanChunkEnd
				continue
			}
			if e, r, done := s.complete(b, i, false); done {
				return e, r
			}
		case scanChunkSize:
			switch v, hex := hexValue(c); {
			case hex:
				if s.remaining > maxChunkSize {
					s.state = scanOff
					continue
				}
				s.remaining = s.remaining<<4 | int64(v)
				s.sizeDigits++
			case c == ';' || c == ' ' || c == '\t':
				s.state = scanChunkExt
			case c == '\r':
			case c == '\n':
				s.chunkSizeEnded()
			default:
				s.state = scanOff
			}
		case scanChunkExt:
			if c == '\n' {
				s.chunkSizeEnded()
			}
		case scanChunkEnd:
			switch c {
			case '\r':
			case '\n':
				s.state, s.remaining, s.sizeDigits = scanChunkSize, 0, 0
			default:
				s.state = scanOff
			}
		}
	}
	return len(b), false
}

// headEnded decides, at the empty line that ends a head (b[i]), how the
// response goes on.
func (s *responseScan) headEnded(b []byte, i int) (end int, retire, done bool) {
	switch {
	case s.code < 200:
		s.state, s.got = scanStatus, 0 // the final response follows
	case s.isHead || s.code == http.StatusNoContent || s.code == http.StatusNotModified:
		return s.complete(b, i, true)
	case s.unknown:
		s.state = scanOff
	case s.chunked:
		s.state, s.remaining, s.sizeDigits = scanChunkSize, 0, 0
	case s.contentLength == 0:
		return s.complete(b, i, false)
	case s.contentLength > 0:
		s.state, s.remaining = scanBody, s.contentLength
	default:
		s.state = scanOff // the body ends with the connection
	}
	return 0, false, false
}

// chunkSizeEnded follows the end of a chunk-size line.
func (s *responseScan) chunkSizeEnded() {
	switch {
	case s.sizeDigits == 0:
		s.state = scanOff
	case s.remaining == 0:
		s.state, s.lineLen = scanTrailer, 0
	default:
		s.state = scanBody
	}
}

// complete ends the response at b[i]. A bodyless response retires the
// connection; so do bytes after the end in b.
func (s *responseScan) complete(b []byte, i int, bodyless bool) (end int, retire, done bool) {
	s.state = scanDone
	if bodyless || i+1 < len(b) {
		return i + 1, true, true
	}
	return len(b), false, true
}

// headerLine records the framing headers of the line just ended.
func (s *responseScan) headerLine() {
	line := s.line[:min(s.lineLen, len(s.line))]
	if line[0] == ' ' || line[0] == '\t' {
		s.unknown = true // a folded line may continue a framing header
		return
	}
	name, value, found := bytes.Cut(line, []byte(":"))
	if !found {
		return
	}
	isLength := asciiEqualFold(name, "content-length")
	isEncoding := !s.http10 && asciiEqualFold(name, "transfer-encoding")
	if !isLength && !isEncoding {
		return
	}
	if s.lineLen > len(s.line) {
		s.unknown = true
		return
	}
	value = bytes.Trim(value, " \t")
	if isEncoding {
		if s.chunked || !asciiEqualFold(value, "chunked") {
			s.unknown = true
		}
		s.chunked = true
		return
	}
	n, ok := decimal(value)
	if !ok || (s.contentLength >= 0 && s.contentLength != n) {
		s.unknown = true
		return
	}
	s.contentLength = n
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if lowerASCII(b[i]) != lower[i] {
			return false
		}
	}
	return true
}

// decimal parses a Content-Length value: 1 to 18 digits.
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// statusCode parses "HTTP/1.x NNN".
func statusCode(line [12]byte) (int, bool) {
	if string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return 0, false
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false
		}
		code = code*10 + int(d-'0')
	}
	return code, true
}
