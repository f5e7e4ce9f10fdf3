package ociimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack; an
// exported deployment nests fewer than 15 levels.
const maxDepth = 64

// Object is a JSON object that keeps its members in document order (and
// duplicates, for the loader to report), so a converted spec reads like the
// one exported. Values are nil, bool, json.Number, string, []any or *Object.
type Object struct {
	Members []Member
}

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value any
}

// lookup returns the value of the first member named by one of keys (the
// kebab-case and the camelCase spelling of a field), the key found, and
// whether there is one.
func (o *Object) lookup(keys ...string) (any, string, bool) {
	for _, m := range o.Members {
		for _, k := range keys {
			if m.Key == k {
				return m.Value, k, true
			}
		}
	}
	return nil, "", false
}

// MarshalJSON writes the members in order, without HTML escaping (a stock
// body's "<p>" stays readable).
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o.Members {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeValue(&b, m.Key); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeValue(&b, m.Value); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeValue(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// Encode returns v as indented JSON with a final newline, the way the
// spec files are written.
func Encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// decode reads one JSON or YAML document. name fixes the format by its
// extension (.json, .yaml, .yml); otherwise JSON is tried first, as YAML
// conversion loses the members' order and the numbers' spelling.
func decode(name string, data []byte) (any, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	ext := strings.ToLower(filepath.Ext(name))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("the document is empty; give the output of oci api-gateway deployment get, or a specification")
	}
	isYAML := ext == ".yaml" || ext == ".yml"
	if !isYAML && (ext == ".json" || trimmed[0] == '{' || trimmed[0] == '[') {
		v, err := decodeJSON(data)
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return v, nil
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		return nil, fmt.Errorf("invalid YAML: %s; fix the syntax", strings.Join(strings.Fields(msg), " "))
	}
	v, err := decodeJSON(js)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	return v, nil
}

// decodeJSON reads exactly one JSON value, numbers kept as written.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("the document ends early at byte %d; check for a missing } or ]", len(data))
		}
		return nil, fmt.Errorf("%s near byte %d", strings.TrimPrefix(err.Error(), "json: "), dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the top-level value near byte %d; keep one JSON value per file", dec.InputOffset())
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token() // ]
			return arr, err
		case '{':
			obj := &Object{}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := tok.(string) // the decoder only returns string keys
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj.Members = append(obj.Members, Member{Key: key, Value: v})
			}
			_, err := dec.Token() // }
			return obj, err
		}
		return nil, fmt.Errorf("unexpected %q", t)
	default:
		return tok, nil // nil, bool, json.Number or string
	}
}
