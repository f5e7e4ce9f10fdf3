package gateway

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// AccessLogFormat is the shape of an access line: the shape keygate serve's
// slog handler gives every other line, so one parser reads the whole log.
type AccessLogFormat int

const (
	// AccessLogJSON is slog.JSONHandler's shape with the text under
	// "message": {"time":"...","level":"INFO","message":"request",...}.
	AccessLogJSON AccessLogFormat = iota
	// AccessLogText is slog.TextHandler's shape with the text under
	// "message": time=... level=INFO message=request ...
	AccessLogText
)

// ParseAccessLogFormat reads "json" or "text" (any case).
func ParseAccessLogFormat(s string) (AccessLogFormat, error) {
	switch strings.ToLower(s) {
	case "json":
		return AccessLogJSON, nil
	case "text":
		return AccessLogText, nil
	}
	return 0, fmt.Errorf("access log format %q: want json or text", s)
}

// AccessLog writes access lines, one per request, byte for byte as
// slog.JSONHandler or slog.TextHandler would with a ReplaceAttr that renames
// the message key to "message" (TestAccessLineMatchesSlog and its fuzz
// target hold it to that), but without building a slog.Record: each line is
// appended into a pooled buffer field by field, strings escaped only when
// they need it, and the deployment and route fields are encoded once when
// the gateway is compiled. One line goes to out in one Write, so a writer
// shared with a slog handler (keygate serve's batching writer) never sees a
// torn line. An AccessLog is safe for concurrent use and may be shared by
// the gateways of successive reloads.
type AccessLog struct {
	out    io.Writer
	format AccessLogFormat
	bufs   sync.Pool // *[]byte
}

// NewAccessLog returns an access log writing lines in format to out. out
// must accept concurrent Writes, each a whole line.
func NewAccessLog(out io.Writer, format AccessLogFormat) *AccessLog {
	a := &AccessLog{out: out, format: format}
	a.bufs.New = func() any {
		b := make([]byte, 0, 512)
		return &b
	}
	return a
}

// accessFields are the values of one access line.
type accessFields struct {
	at         time.Time
	requestID  string
	method     string
	path       string
	status     int
	durationMs float64
	bytes      int64
	// tail is the pre-encoded deployment and route fields (accessTail).
	tail []byte
	// subscriber (a usage plan's subscriber) and cache (the response
	// cache's verdict) end the line when set.
	subscriber, cache string
}

// write encodes f and writes it as one line.
func (a *AccessLog) write(f *accessFields) {
	bp := a.bufs.Get().(*[]byte)
	b := a.appendLine((*bp)[:0], f)
	_, _ = a.out.Write(b)
	if cap(b) <= 16<<10 { // a huge path must not pin a huge buffer
		*bp = b
		a.bufs.Put(bp)
	}
}

func (a *AccessLog) appendLine(b []byte, f *accessFields) []byte {
	if a.format == AccessLogText {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, f.at)
		b = append(b, " level=INFO message=request opcRequestId="...)
		b = appendTextString(b, f.requestID)
		b = append(b, " method="...)
		b = appendTextString(b, f.method)
		b = append(b, " path="...)
		b = appendTextString(b, f.path)
		b = append(b, " status="...)
		b = strconv.AppendInt(b, int64(f.status), 10)
		b = append(b, " durationMs="...)
		b = strconv.AppendFloat(b, f.durationMs, 'g', -1, 64)
		b = append(b, " bytes="...)
		b = strconv.AppendInt(b, f.bytes, 10)
		b = append(b, f.tail...)
		if f.subscriber != "" {
			b = append(b, " subscriber="...)
			b = appendTextString(b, f.subscriber)
		}
		if f.cache != "" {
			b = append(b, " cache="...)
			b = appendTextString(b, f.cache)
		}
		return append(b, '\n')
	}
	b = append(b, `{"time":"`...)
	b = f.at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","message":"request","opcRequestId":`...)
	b = appendJSONString(b, f.requestID)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, f.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, f.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(f.status), 10)
	b = append(b, `,"durationMs":`...)
	b = appendJSONFloat(b, f.durationMs)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, f.bytes, 10)
	b = append(b, f.tail...)
	if f.subscriber != "" {
		b = append(b, `,"subscriber":`...)
		b = appendJSONString(b, f.subscriber)
	}
	if f.cache != "" {
		b = append(b, `,"cache":`...)
		b = appendJSONString(b, f.cache)
	}
	return append(b, "}\n"...)
}

// accessTail encodes the fields that end a line and are known when the
// gateway is compiled: the deployment's path prefix and, once routed, the
// route's path ("" for none).
func (a *AccessLog) accessTail(deployment, route string) []byte {
	var b []byte
	if a.format == AccessLogText {
		b = append(b, " deployment="...)
		b = appendTextString(b, deployment)
		if route != "" {
			b = append(b, " route="...)
			b = appendTextString(b, route)
		}
		return b
	}
	b = append(b, `,"deployment":`...)
	b = appendJSONString(b, deployment)
	if route != "" {
		b = append(b, `,"route":`...)
		b = appendJSONString(b, route)
	}
	return b
}

const lowerHex = "0123456789abcdef"

// appendJSONString appends s quoted as slog.JSONHandler quotes a string:
// '"', '\\' and controls escaped (\n \r \t, else \u00XX), invalid UTF-8 as
// \ufffd, U+2028 and U+2029 escaped; everything else, '<' '>' '&' included,
// as it is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTextString appends s as slog.TextHandler does: as it is, or quoted
// by strconv.Quote when it is empty or holds a space, '=', '"', a control,
// invalid UTF-8, or a non-printing or space rune.
func appendTextString(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func textNeedsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '=' || c == '"' || c < 0x20 {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendJSONFloat appends f as encoding/json does (slog.JSONHandler
// marshals floats with it): shortest form, exponent only outside
// [1e-6, 1e21), and then without a leading zero in a negative exponent.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs == 0 || abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	// e-09 becomes e-9, as in encoding/json.
	if m := len(b) - n; m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
		b[len(b)-2] = b[len(b)-1]
		b = b[:len(b)-1]
	}
	return b
}

// appendRFC3339Millis appends t as slog.TextHandler shows times: RFC 3339
// with exactly three fractional digits (truncated, not rounded).
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	// RFC3339Nano drops trailing zeros; adding a tenth of a millisecond
	// keeps four digits, of which the fourth is cut.
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}
