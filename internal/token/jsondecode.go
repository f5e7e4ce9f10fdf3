package token

import (
	"encoding/json"
	"errors"
)

// errNotChecked is returned for JSON that checkJSONObject would have
// refused: decodeObject is only ever given checked input, so it means a bug.
var errNotChecked = errors.New("JSON was not checked before decoding")

// decodeObject decodes text, a JSON object that checkJSONObject accepted, into the
// values encoding/json gives with UseNumber (TestDecodeObjectMatchesJSON and
// FuzzDecodeObject hold it to that): map[string]any, []any, string,
// json.Number, bool and nil. It allocates far less: member names, numbers
// and strings without escapes are slices of text, and maps and arrays are
// made at their final size. Strings with escapes are rare in tokens and
// are unquoted by encoding/json itself.
func decodeObject(text string) (map[string]any, error) {
	d := jsonBuilder{text: text}
	d.space()
	return d.object()
}

// jsonBuilder builds values from checked JSON text. It trusts the checker
// for the grammar (depth, UTF-8, duplicates) but still never reads past
// the text or loops, whatever it is given.
type jsonBuilder struct {
	text string
	i    int
}

func (d *jsonBuilder) space() {
	for d.i < len(d.text) {
		switch d.text[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonBuilder) value() (any, error) {
	if d.i >= len(d.text) {
		return nil, errNotChecked
	}
	switch c := d.text[d.i]; {
	case c == '{':
		m, err := d.object()
		return m, err
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return d.number()
}

func (d *jsonBuilder) literal(word string) error {
	if len(d.text)-d.i < len(word) || d.text[d.i:d.i+len(word)] != word {
		return errNotChecked
	}
	d.i += len(word)
	return nil
}

// object builds the object at d.i (its '{').
func (d *jsonBuilder) object() (map[string]any, error) {
	m := make(map[string]any, d.count('}'))
	more, err := d.openObject()
	for more && err == nil {
		var name string
		var v any
		if name, err = d.memberName(); err != nil {
			break
		}
		if v, err = d.value(); err != nil {
			break
		}
		m[name] = v
		more, err = d.nextMember()
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// openObject moves past the '{' at d.i and reports whether a member
// follows.
func (d *jsonBuilder) openObject() (bool, error) {
	if d.i >= len(d.text) || d.text[d.i] != '{' {
		return false, errNotChecked
	}
	d.i++
	d.space()
	if d.i < len(d.text) && d.text[d.i] == '}' {
		d.i++
		return false, nil
	}
	return true, nil
}

// memberName reads a member's name and its ':', leaving d.i at its value.
func (d *jsonBuilder) memberName() (string, error) {
	name, err := d.str()
	if err != nil {
		return "", err
	}
	d.space()
	if d.i >= len(d.text) || d.text[d.i] != ':' {
		return "", errNotChecked
	}
	d.i++
	d.space()
	if d.i >= len(d.text) {
		return "", errNotChecked
	}
	return name, nil
}

// nextMember moves past what follows a member's value and reports whether
// another member follows (',') or the object ended ('}').
func (d *jsonBuilder) nextMember() (bool, error) {
	d.space()
	if d.i >= len(d.text) {
		return false, errNotChecked
	}
	d.i++
	switch d.text[d.i-1] {
	case ',':
		d.space()
		return true, nil
	case '}':
		return false, nil
	}
	return false, errNotChecked
}

// array builds the array at d.i (its '[').
func (d *jsonBuilder) array() ([]any, error) {
	a := make([]any, 0, d.count(']'))
	d.i++
	d.space()
	if d.i < len(d.text) && d.text[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		if d.i >= len(d.text) {
			return nil, errNotChecked
		}
		d.i++
		switch d.text[d.i-1] {
		case ',':
			d.space()
		case ']':
			return a, nil
		default:
			return nil, errNotChecked
		}
	}
}

// count returns how many members or elements the container at d.i holds
// (close is its closing bracket), so that it is made at its final size. It
// reads ahead without moving d.i.
func (d *jsonBuilder) count(close byte) int {
	n, depth := 0, 0
	for i := d.i + 1; i < len(d.text); i++ {
		switch c := d.text[i]; c {
		case '"':
			i = stringEnd(d.text, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				if c != close {
					return 0
				}
				if n > 0 || nonSpaceBetween(d.text[d.i+1:i]) {
					n++
				}
				return n
			}
			depth--
		case ',':
			if depth == 0 {
				n++
			}
		}
	}
	return 0
}

func nonSpaceBetween(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return true
		}
	}
	return false
}

// str reads the string at d.i (its opening quote).
func (d *jsonBuilder) str() (string, error) {
	if d.i >= len(d.text) || d.text[d.i] != '"' {
		return "", errNotChecked
	}
	start := d.i
	escaped := false
	for d.i++; d.i < len(d.text); d.i++ {
		switch d.text[d.i] {
		case '\\':
			escaped = true
			d.i++
		case '"':
			d.i++
			if !escaped {
				return d.text[start+1 : d.i-1], nil
			}
			var s string
			if err := json.Unmarshal([]byte(d.text[start:d.i]), &s); err != nil {
				return "", errNotChecked
			}
			return s, nil
		}
	}
	return "", errNotChecked
}

// number reads the number at d.i as json.Number, digits as written.
func (d *jsonBuilder) number() (any, error) {
	start := d.i
	for d.i < len(d.text) && isNumberByte(d.text[d.i]) {
		d.i++
	}
	if d.i == start {
		return nil, errNotChecked
	}
	return json.Number(d.text[start:d.i]), nil
}

func isNumberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skip moves past the value at d.i without building it.
func (d *jsonBuilder) skip() error {
	if d.i >= len(d.text) {
		return errNotChecked
	}
	switch d.text[d.i] {
	case '"':
		d.i = stringEnd(d.text, d.i)
		return nil
	case '{', '[':
		depth := 0
		for ; d.i < len(d.text); d.i++ {
			switch d.text[d.i] {
			case '"':
				d.i = stringEnd(d.text, d.i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					d.i++
					return nil
				}
			}
		}
		return errNotChecked
	}
	start := d.i
	for d.i < len(d.text) && (isNumberByte(d.text[d.i]) || 'a' <= d.text[d.i] && d.text[d.i] <= 'z') {
		d.i++
	}
	if d.i == start {
		return errNotChecked
	}
	return nil
}

// stringEnd returns the index just past the string whose opening quote is
// at text[i], or len(text) if it never closes.
func stringEnd(text string, i int) int {
	for i++; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(text)
}
