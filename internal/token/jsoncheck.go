package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

// maxJSONDepth is the deepest nesting of objects and arrays a header or
// payload may have; the top-level object counts as 1.
const maxJSONDepth = 32

// linearNames is how many member names an object may have before duplicate
// detection switches from a scan to a map, so that an object of thousands of
// members costs linear time rather than quadratic.
const linearNames = 16

// checkJSONObject reports why b is not exactly one JSON object (RFC 8259)
// that keygate accepts: it must be valid UTF-8, nest no deeper than
// maxJSONDepth and have no duplicate member names in any object. It runs
// before encoding/json, which would silently keep the last of two "alg"
// members and recurse as deep as the input asks.
func checkJSONObject(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	names := scanNames.Get().(*[][]byte)
	s := jsonScanner{b: b, names: (*names)[:0]}
	defer func() {
		if cap(s.names) <= 8*linearNames { // one huge header must not stay
			clear(s.names[:cap(s.names)]) // nor keep b reachable
			*names = s.names[:0]
			scanNames.Put(names)
		}
	}()
	s.skipSpace()
	if s.i >= len(b) || b[s.i] != '{' {
		return errors.New("not a JSON object")
	}
	if err := s.object(1); err != nil {
		return err
	}
	s.skipSpace()
	if s.i != len(b) {
		return s.fail("data after the object")
	}
	return nil
}

// scanNames recycles jsonScanner.names: the scanner recurses, so a names
// array on checkJSONObject's stack would escape to the heap on every call.
var scanNames = sync.Pool{New: func() any {
	names := make([][]byte, 0, 2*linearNames)
	return &names
}}

// jsonScanner walks a JSON text without building values.
type jsonScanner struct {
	b []byte
	i int
	// names holds the member names of the objects being scanned, innermost
	// last; an object truncates it back when it ends.
	names [][]byte
}

func (s *jsonScanner) fail(what string) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", s.i, what)
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value whose enclosing container is at depth.
func (s *jsonScanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.fail("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail("unexpected character")
}

// object scans an object that starts at s.i and sits at depth.
func (s *jsonScanner) object(depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	start := len(s.names)
	defer func() { s.names = s.names[:start] }()
	var seen map[string]struct{}
	s.i++ // '{'
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("expected a member name")
		}
		name, err := s.name()
		if err != nil {
			return err
		}
		if seen, err = s.remember(start, seen, name); err != nil {
			return err
		}
		s.skipSpace()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		s.skipSpace()
		if err := s.value(depth); err != nil {
			return err
		}
		s.skipSpace()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			s.skipSpace()
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return nil
		}
		return s.fail("expected ',' or '}'")
	}
}

// remember records name as a member of the object whose names start at
// start, and fails if the object already has it. seen is that object's map
// once it has grown past linearNames members, else nil.
func (s *jsonScanner) remember(start int, seen map[string]struct{}, name []byte) (map[string]struct{}, error) {
	if seen != nil {
		if _, dup := seen[string(name)]; dup {
			return seen, duplicateError(name)
		}
		seen[string(name)] = struct{}{}
		return seen, nil
	}
	for _, n := range s.names[start:] {
		if bytes.Equal(n, name) {
			return nil, duplicateError(name)
		}
	}
	s.names = append(s.names, name)
	if len(s.names)-start <= linearNames {
		return nil, nil
	}
	seen = make(map[string]struct{}, 2*linearNames)
	for _, n := range s.names[start:] {
		seen[string(n)] = struct{}{}
	}
	return seen, nil
}

func duplicateError(name []byte) error {
	return fmt.Errorf("duplicate member %s", quote(string(name)))
}

// array scans an array that starts at s.i and sits at depth.
func (s *jsonScanner) array(depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	s.i++ // '['
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.skipSpace()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			s.skipSpace()
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		return s.fail("expected ',' or ']'")
	}
}

// name scans a member name and returns it decoded, so that "a" and
// "\u0061" count as the same name, as they do for encoding/json.
func (s *jsonScanner) name() ([]byte, error) {
	raw, escaped, err := s.str()
	if err != nil {
		return nil, err
	}
	if !escaped {
		return raw[1 : len(raw)-1], nil
	}
	// Rare: only names with escapes pay for decoding, done by encoding/json
	// itself so that both agree on what the name is.
	var decoded string
	if err := json.Unmarshal(raw, &decoded); err != nil {
		return nil, s.fail("bad string escape")
	}
	return []byte(decoded), nil
}

// str scans a string starting at its opening quote and returns it with
// its quotes, and whether it holds an escape.
func (s *jsonScanner) str() (raw []byte, escaped bool, err error) {
	start := s.i
	s.i++ // '"'
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], escaped, nil
		case c == '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return nil, false, err
			}
		case c < 0x20:
			return nil, false, s.fail("control character in string")
		default:
			s.i++
		}
	}
	return nil, false, s.fail("unterminated string")
}

// escape scans one escape sequence starting at its backslash.
func (s *jsonScanner) escape() error {
	s.i++
	if s.i >= len(s.b) {
		return s.fail("unterminated string")
	}
	switch s.b[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return nil
	case 'u':
		s.i++
		for range 4 {
			if s.i >= len(s.b) || !isHex(s.b[s.i]) {
				return s.fail("bad \\u escape")
			}
			s.i++
		}
		return nil
	}
	return s.fail("bad string escape")
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *jsonScanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.fail("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail("bad number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail("bad number")
		}
	}
	return nil
}

// digits skips decimal digits and returns how many.
func (s *jsonScanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *jsonScanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.fail("unexpected character")
	}
	s.i += len(word)
	return nil
}
