package authz

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ErrBadPath is wrapped by every error of CanonicalPath. The gateway answers
// 400 and neither routes nor forwards such a request, because the backend
// might resolve the same bytes to another resource than the route it matched
// (Envoy CVE-2019-9901, Istio CVE-2021-31920).
var ErrBadPath = errors.New("bad request path")

// maxPathLen bounds the work one request can ask of the router.
const maxPathLen = 8 << 10

// maxEcho bounds how much of a hostile path an error message repeats.
const maxEcho = 64

// CanonicalPath returns the decoded path used for routing, given the request
// path exactly as it arrived (escaped, without the query).
//
// It refuses, with an error wrapping ErrBadPath, every spelling that a
// backend or a later decoder could read as a different path: empty or
// dot segments, percent-encoded '/', '\', '.', '%', ';' and control bytes,
// raw '\', ';', '#', '?' and control bytes, malformed escapes, and a result
// that is not valid UTF-8. Since '/' and '.' cannot be escaped, the segments
// of the result are exactly the segments of the input, and one decode of the
// result's escaped form (EscapeSegment) gives it back.
func CanonicalPath(escaped string) (string, error) {
	switch {
	case escaped == "":
		return "", fmt.Errorf("%w: empty", ErrBadPath)
	case len(escaped) > maxPathLen:
		return "", fmt.Errorf("%w: longer than %d bytes (%d) in %q", ErrBadPath, maxPathLen, len(escaped), clip(escaped))
	case escaped[0] != '/':
		return "", badPath("does not start with \"/\"", escaped)
	}
	escapes, err := checkBytes(escaped)
	if err != nil {
		return "", err
	}
	decoded := escaped
	if escapes > 0 {
		decoded = unescape(escaped, escapes)
	}
	if err := checkSegments(decoded, escaped); err != nil {
		return "", err
	}
	if !utf8.ValidString(decoded) {
		return "", badPath("not valid UTF-8", escaped)
	}
	return decoded, nil
}

// checkBytes refuses the bytes and escapes CanonicalPath never accepts and
// returns the number of escapes to decode.
func checkBytes(escaped string) (int, error) {
	escapes := 0
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c != '%' {
			if rawRefused(c) {
				return 0, badPathAt(fmt.Sprintf("raw %q", c), i, escaped)
			}
			continue
		}
		if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
			return 0, badPathAt("malformed percent escape", i, escaped)
		}
		if b := unhex(escaped[i+1])<<4 | unhex(escaped[i+2]); decodedRefused(b) {
			return 0, badPathAt(fmt.Sprintf("encoded %q (%s)", b, escaped[i:i+3]), i, escaped)
		}
		escapes++
		i += 2
	}
	return escapes, nil
}

// checkSegments refuses empty segments except a single trailing one, and
// dot segments, which a backend would resolve away. It reads the decoded
// path so that a segment decoding to a dot segment is refused even if the
// escapes of '.' were ever allowed.
func checkSegments(decoded, escaped string) error {
	rest := decoded[1:]
	for n := 1; ; n++ {
		seg, tail, more := strings.Cut(rest, "/")
		switch {
		case seg == "" && more:
			return badPath(fmt.Sprintf("empty segment %d (\"//\")", n), escaped)
		case seg == "." || seg == "..":
			return badPath(fmt.Sprintf("dot segment %d (%q)", n, seg), escaped)
		}
		if !more {
			return nil
		}
		rest = tail
	}
}

// rawRefused reports whether an unescaped byte is refused: '\' and ';' are
// separators to some backends (Tomcat's "..;/"), '#' and '?' cannot be part
// of a path that arrived intact, and control bytes have no place in a path.
func rawRefused(c byte) bool {
	return c < 0x20 || c == 0x7f || c == '\\' || c == ';' || c == '#' || c == '?'
}

// decodedRefused reports whether a percent-escaped byte is refused: each of
// these would change the path's structure for a decoder after us, and '%'
// itself would allow double encoding such as %252e.
func decodedRefused(b byte) bool {
	return b < 0x20 || b == 0x7f || b == '/' || b == '\\' || b == '.' || b == '%' || b == ';'
}

// unescape decodes the escapes of a path that checkBytes accepted.
func unescape(escaped string, escapes int) string {
	var b strings.Builder
	b.Grow(len(escaped) - 2*escapes)
	for i := 0; i < len(escaped); i++ {
		if c := escaped[i]; c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(unhex(escaped[i+1])<<4 | unhex(escaped[i+2]))
		i += 2
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

func badPath(reason, escaped string) error {
	return fmt.Errorf("%w: %s in %q", ErrBadPath, reason, clip(escaped))
}

func badPathAt(reason string, at int, escaped string) error {
	return fmt.Errorf("%w: %s at byte %d in %q", ErrBadPath, reason, at, clip(escaped))
}

// clip keeps error messages and the logs they reach small whatever the
// client sent.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "..."
}

// EscapeSegment path-escapes s for use as exactly one segment of a backend
// URL: '/', '?', '#', ';' and '%' are escaped like every byte url.PathEscape
// escapes, and a whole "." or ".." becomes "%2E" or "%2E%2E" so that the
// backend cannot resolve it as a dot segment (attack R4). An empty s stays
// empty.
func EscapeSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}
