package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack; real
// specifications nest fewer than 12 levels.
const maxDepth = 64

// kind is a JSON value's kind.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// article names a kind for messages: "got a string".
func (k kind) article() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

// node is a JSON value kept with every object member in document order,
// duplicates included, so the strict walk can report them where they are.
type node struct {
	kind    kind
	boolean bool
	str     string
	num     json.Number
	members []member
	elems   []*node
}

type member struct {
	key string
	val *node
}

// lastMembers maps each key of an object to the index of its last member.
func (n *node) lastMembers() map[string]int {
	last := make(map[string]int, len(n.members))
	for i, m := range n.members {
		last[m.key] = i
	}
	return last
}

// appendJSON appends n as JSON keeping only the last member of each key, so
// that json.Unmarshal sees the values the strict walk checked: given
// duplicates itself, it would merge two objects under one key into one.
func (n *node) appendJSON(b []byte) []byte {
	switch n.kind {
	case kindNull:
		return append(b, "null"...)
	case kindBool:
		return strconv.AppendBool(b, n.boolean)
	case kindNumber:
		return append(b, n.num...)
	case kindString:
		return appendString(b, n.str)
	case kindArray:
		b = append(b, '[')
		for i, e := range n.elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendJSON(b)
		}
		return append(b, ']')
	default:
		b = append(b, '{')
		last := n.lastMembers()
		first := true
		for i, m := range n.members {
			if last[m.key] != i {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, m.key)
			b = append(b, ':')
			b = m.val.appendJSON(b)
		}
		return append(b, '}')
	}
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// parseTree reads exactly one JSON value from data. It fails on the first
// syntax error, as nothing after it can be trusted.
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseValue(dec, 0)
	if err != nil {
		return nil, describeSyntax(data, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the top-level value at %s; keep one JSON value per file", position(data, dec.InputOffset()))
	}
	return n, nil
}

func parseValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return parseArray(dec, depth)
		}
		return parseObject(dec, depth)
	case bool:
		return &node{kind: kindBool, boolean: t}, nil
	case json.Number:
		return &node{kind: kindNumber, num: t}, nil
	case string:
		return &node{kind: kindString, str: t}, nil
	default:
		return &node{kind: kindNull}, nil
	}
}

func parseArray(dec *json.Decoder, depth int) (*node, error) {
	n := &node{kind: kindArray}
	for dec.More() {
		e, err := parseValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, e)
	}
	_, err := dec.Token() // ']'
	return n, err
}

func parseObject(dec *json.Decoder, depth int) (*node, error) {
	n := &node{kind: kindObject}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string) // the decoder guarantees a string key here
		v, err := parseValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		n.members = append(n.members, member{key: key, val: v})
	}
	_, err := dec.Token() // '}'
	return n, err
}

// describeSyntax turns a decoder error into a message with a line and column.
func describeSyntax(data []byte, dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at %s: %s; fix the syntax", position(data, syn.Offset), syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errors.New("invalid JSON: unexpected end of input; check for a missing closing bracket or brace")
	default:
		return fmt.Errorf("invalid JSON at %s: %s; fix the syntax", position(data, dec.InputOffset()), err.Error())
	}
}

// position renders a byte offset as "line L, column C" (both from 1).
func position(data []byte, offset int64) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
