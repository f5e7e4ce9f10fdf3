package ociimport

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"sigs.k8s.io/yaml"
)

// toKebab is what the oci CLI does to a camelCase specification: every
// model attribute's Python name (the JSON name in snake_case, _from for
// the keyword "from") with "_" replaced by "-"; plain maps (tags, an
// authorizer's parameters, bodyValidation.content) keep their keys; unset
// fields are printed as null (here: one more member per object).
func toKebab(v any) any {
	switch t := v.(type) {
	case *Object:
		out := &Object{}
		for _, m := range t.Members {
			key, value := snake(m.Key), m.Value
			switch {
			case verbatim[m.Key]:
			case userKeyed[m.Key]:
				if o, ok := value.(*Object); ok {
					inner := &Object{}
					for _, im := range o.Members {
						inner.Members = append(inner.Members, Member{Key: im.Key, Value: toKebab(im.Value)})
					}
					value = inner
				}
			default:
				value = toKebab(value)
			}
			out.Members = append(out.Members, Member{Key: strings.ReplaceAll(key, "_", "-"), Value: value})
		}
		out.Members = append(out.Members, Member{Key: "unset-field", Value: nil})
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toKebab(e)
		}
		return out
	}
	return v
}

// snake is the Python SDK's attribute name for a JSON name.
func snake(name string) string {
	switch name {
	case "from":
		return "_from"
	case "key_ops":
		return "key_ops"
	}
	var b strings.Builder
	for _, r := range name {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestRoundTrip converts camelCase specifications to the CLI's kebab-case
// and imports them back, bare and inside a get output, as JSON and as YAML:
// the result is the original.
func TestRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/roundtrip/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/roundtrip/*.json: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			original, err := decodeJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			kebab := toKebab(original)
			if bytes.Equal([]byte(compact(t, kebab)), []byte(compact(t, original))) {
				t.Fatal("toKebab changed nothing; the test would prove nothing")
			}
			get := &Object{Members: []Member{{Key: "data", Value: &Object{Members: []Member{
				{Key: "path-prefix", Value: "/rt"},
				{Key: "freeform-tags", Value: &Object{Members: []Member{{Key: "team-name", Value: "x"}}}},
				{Key: "specification", Value: kebab},
			}}}}}
			for _, input := range []struct {
				name string
				doc  any
			}{{"spec.json", kebab}, {"get.json", get}, {"spec.yaml", kebab}, {"get.yaml", get}} {
				in, err := Encode(input.doc)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(input.name, ".yaml") {
					if in, err = yaml.JSONToYAML(in); err != nil {
						t.Fatal(err)
					}
				}
				doc, err := Parse(input.name, in)
				if err != nil {
					t.Fatalf("%s: Parse: %v", input.name, err)
				}
				spec := doc.Deployments[0].Spec
				if spec == nil {
					t.Fatalf("%s: no spec: %s", input.name, doc.Deployments[0].Problem)
				}
				if strings.HasSuffix(input.name, ".yaml") {
					// YAML does not keep the members' order: compare values.
					if !sameJSON(t, compact(t, spec), compact(t, original)) {
						t.Errorf("%s: imported back:\n%s\nwant:\n%s", input.name, compact(t, spec), compact(t, original))
					}
					continue
				}
				if got, want := compact(t, spec), compact(t, original); got != want {
					t.Errorf("%s: imported back:\n%s\nwant:\n%s", input.name, got, want)
				}
			}
		})
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(va, vb)
}
