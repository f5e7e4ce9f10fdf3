package gateway

import (
	"math"
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
// It reads heads as net/http's parser does (any HTTP/d.d version, spaces
// before the status code, folded header lines, framing values of any
// length, leading zeros), so that every head net/http accepts is followed
// to its end; FuzzResponseScan holds the two together. It stops following
// only where net/http refuses the response (the exchange then fails and the
// connection is closed) or where the body ends with the connection (which
// http.Transport never reuses).
type responseScan struct {
	state  scanState
	isHead bool // the request was HEAD

	got   int // bytes of the status line's current part
	major int // HTTP version digits
	minor int
	code  int
	// negative: the code was written with '-', which strconv.Atoi takes
	// ("-00" is 0, and net/http refuses only a negative value).
	negative bool
	http10   bool // HTTP/1.0 or older: Transfer-Encoding means nothing

	// The header line being read.
	lineStart bool        // at the first byte of a line
	name      headerMatch // which framing header the line's name may be
	nameLen   int
	field     headerMatch // the framing header whose value is being read (across folds)
	value     valueState

	contentLength int64 // -1: none
	chunked       bool
	lengthBad     bool  // a Content-Length net/http refuses (unless chunked)
	encodingBad   bool  // a Transfer-Encoding net/http refuses
	remaining     int64 // bytes left of the body or of the current chunk
	sizeDigits    int   // hex digits of the current chunk size
}

type scanState uint8

const (
	scanOff       scanState = iota // not watching until the next request
	scanProto                      // "HTTP/d.d"
	scanSpaces                     // the spaces before the status code
	scanCode                       // the three digits of the status code
	scanReason                     // the rest of the status line
	scanHead                       // header lines up to the empty line
	scanBody                       // remaining bytes of a body or a chunk
	scanChunkSize                  // a chunk-size line
	scanChunkExt                   // the rest of a chunk-size line (extensions)
	scanChunkEnd                   // the CRLF after a chunk's data
	scanTrailer                    // trailer lines after the last chunk
	scanDone                       // the response is complete
)

// headerMatch names a framing header, as far as a line's name or value
// goes.
type headerMatch uint8

const (
	matchNone    headerMatch = iota
	matchUnknown             // a name's first byte is still to come
	matchLength
	matchEncoding
)

// canonical is the lower-case header name m stands for.
func (m headerMatch) canonical() string {
	switch m {
	case matchLength:
		return contentLength
	case matchEncoding:
		return transferEncoding
	}
	return ""
}

const (
	contentLength    = "content-length"
	transferEncoding = "transfer-encoding"
	chunkedCoding    = "chunked"
)

// valueState follows a framing header's value: Content-Length digits, or
// the word chunked, with whitespace around.
type valueState struct {
	before  bool  // only whitespace so far
	after   bool  // whitespace after the value
	bad     bool  // not a value net/http accepts
	n       int64 // Content-Length so far
	matched int   // bytes of "chunked" matched
}

// maxChunkSize bounds the chunk sizes the scan adds up (2^62): net/http
// refuses larger ones.
const maxChunkSize = 1 << 62

// start watches the response to a request about to be written.
func (s *responseScan) start(method string) {
	*s = responseScan{state: scanProto, isHead: method == http.MethodHead}
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
		case scanProto:
			s.proto(c)
		case scanSpaces, scanCode:
			s.statusByte(c)
		case scanReason:
			if c == '\n' {
				s.state, s.lineStart = scanHead, true
			}
		case scanHead, scanTrailer:
			if e, r, done := s.headByte(b, i); done {
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
				if s.remaining > maxChunkSize>>4 {
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

// proto reads "HTTP/d.d", the only version form net/http accepts.
func (s *responseScan) proto(c byte) {
	ok := false
	switch i := s.got; {
	case i < len("HTTP/"):
		ok = c == "HTTP/"[i]
	case i == 5:
		ok, s.major = isDigit(c), int(c-'0')
	case i == 6:
		ok = c == '.'
	case i == 7:
		ok, s.minor = isDigit(c), int(c-'0')
	}
	if !ok {
		s.state = scanOff // net/http: malformed HTTP version
		return
	}
	if s.got++; s.got == len("HTTP/d.d") {
		s.http10 = s.major < 1 || s.major == 1 && s.minor == 0
		s.state, s.got = scanSpaces, 0
	}
}

// statusByte reads the status code: net/http takes the three bytes after
// the spaces that follow the version, as strconv.Atoi reads them ("+20" is
// 20), up to the next space or the end of the line.
func (s *responseScan) statusByte(c byte) {
	switch {
	case s.state == scanSpaces && c == ' ':
		s.got++ // spaces seen
		return
	case s.state == scanSpaces && s.got > 0:
		s.state, s.got, s.code, s.negative = scanCode, 0, 0, false
	case s.state == scanSpaces:
		s.state = scanOff // net/http: no space after the version
		return
	}
	if s.got < 3 {
		switch {
		case isDigit(c):
			s.code = s.code*10 + int(c-'0')
		case c == '+' && s.got == 0:
		case c == '-' && s.got == 0:
			s.negative = true
		default:
			s.state = scanOff // net/http: malformed status code
			return
		}
		s.got++
		return
	}
	if s.negative && s.code != 0 {
		s.state = scanOff // net/http refuses a negative status ("-00" is 0)
		return
	}
	if (c != ' ' && c != '\r' && c != '\n') || s.code == http.StatusSwitchingProtocols {
		s.state = scanOff // malformed, or a protocol switch: not HTTP/1 any more
		return
	}
	s.state = scanReason
	s.contentLength, s.chunked, s.lengthBad, s.encodingBad = -1, false, false, false
	if c == '\n' {
		s.state, s.lineStart = scanHead, true
	}
}

// headByte reads one byte of the header (or trailer) section at b[i].
func (s *responseScan) headByte(b []byte, i int) (end int, retire, done bool) {
	c := b[i]
	if s.lineStart {
		switch c {
		case '\r':
			return 0, false, false // before the '\n' of an empty line, or stray
		case '\n':
			s.endField()
			if s.state == scanTrailer {
				return s.complete(b, i, false)
			}
			return s.headEnded(b, i)
		case ' ', '\t':
			s.lineStart = false // a folded line goes on with the field's value
			if s.field != matchNone {
				s.valueByte(' ')
			}
			return 0, false, false
		}
		s.endField()
		s.lineStart, s.nameLen, s.name = false, 0, matchUnknown
	}
	switch {
	case c == '\n':
		s.lineStart = true
	case c == '\r':
	case s.field != matchNone:
		s.valueByte(c)
	case s.name != matchNone:
		s.nameByte(c)
	}
	return 0, false, false
}

// nameByte follows a header line's name, to know whether it names a framing
// header; a name that does not is skipped to the end of its line.
func (s *responseScan) nameByte(c byte) {
	if c == ':' {
		if s.nameLen == len(s.name.canonical()) && (s.name == matchLength || !s.http10) {
			s.field, s.value = s.name, valueState{before: true}
		}
		s.name = matchNone
		return
	}
	c = lowerASCII(c)
	if s.name == matchUnknown {
		switch c {
		case contentLength[0]:
			s.name = matchLength
		case transferEncoding[0]:
			s.name = matchEncoding
		default:
			s.name = matchNone
			return
		}
	} else if want := s.name.canonical(); s.nameLen >= len(want) || c != want[s.nameLen] {
		s.name = matchNone
		return
	}
	s.nameLen++
}

// valueByte follows a framing header's value.
func (s *responseScan) valueByte(c byte) {
	v := &s.value
	if c == ' ' || c == '\t' {
		if !v.before {
			v.after = true
		}
		return
	}
	if v.after {
		v.bad = true // "7 0", "chunked x": net/http refuses inner whitespace
		return
	}
	v.before = false
	switch s.field {
	case matchLength:
		if !isDigit(c) || v.n > (math.MaxInt64-int64(c-'0'))/10 {
			v.bad = true // net/http: not a 63-bit number
			return
		}
		v.n = v.n*10 + int64(c-'0')
		v.matched++ // digits seen
	case matchEncoding:
		if v.matched >= len(chunkedCoding) || lowerASCII(c) != chunkedCoding[v.matched] {
			v.bad = true
			return
		}
		v.matched++
	}
}

// endField records the framing header whose value (folds included) has
// just ended, as net/http reads it.
func (s *responseScan) endField() {
	v := s.value
	switch s.field {
	case matchLength:
		switch {
		case v.bad || v.matched == 0:
			s.lengthBad = true
		case s.contentLength >= 0 && s.contentLength != v.n:
			s.lengthBad = true // net/http: conflicting Content-Length
		default:
			s.contentLength = v.n
		}
	case matchEncoding:
		if v.bad || v.matched != len(chunkedCoding) || s.chunked {
			s.encodingBad = true // net/http: unsupported, or more than one
		}
		s.chunked = true
	}
	s.field = matchNone
}

// headEnded decides, at the empty line that ends a head (b[i]), how the
// response goes on.
func (s *responseScan) headEnded(b []byte, i int) (end int, retire, done bool) {
	switch {
	case 100 <= s.code && s.code < 200:
		s.state, s.got = scanProto, 0 // the final response follows
	case s.isHead || s.code == http.StatusNoContent || s.code == http.StatusNotModified:
		return s.complete(b, i, true)
	case s.encodingBad, s.lengthBad && !s.chunked:
		s.state = scanOff // net/http refuses the response; the exchange fails
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
		s.state, s.lineStart, s.field = scanTrailer, true, matchNone
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

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

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
