package ociimport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics on outside input, and that
// what it returns is a spec that encodes to valid JSON and that a second
// conversion leaves as it is.
func FuzzParse(f *testing.F) {
	f.Add("get.json", []byte(getOutput))
	f.Add("spec.yaml", []byte("routes:\n  - path: /\n"))
	f.Add("-", []byte(`{"data":{"items":[{"path-prefix":"/a","specification":{"routes":[]}}]}}`))
	f.Add("-", []byte(`[{"-from":null,"key-ops":["x"],"parameters":{"a-b":1},"content":{"x-y":{"a-b":null}}}]`))
	if files, _ := filepath.Glob("testdata/roundtrip/*.json"); len(files) > 0 {
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(filepath.Base(file), data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		doc, err := Parse(name, data)
		if err != nil {
			return
		}
		for _, d := range doc.Deployments {
			if (d.Spec == nil) == (d.Problem == "") {
				t.Fatalf("%s: spec %v with problem %q: want exactly one", d.Path, d.Spec != nil, d.Problem)
			}
			if d.Spec == nil {
				continue
			}
			out, err := Encode(d.Spec)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !json.Valid(out) {
				t.Fatalf("Encode wrote invalid JSON:\n%s", out)
			}
			again, err := decodeJSON(out)
			if err != nil {
				t.Fatalf("the spec written does not read back: %v\n%s", err, out)
			}
			twice, st := CamelKeys(again)
			if st != (Stats{}) || compact(t, twice) != compact(t, d.Spec) {
				t.Fatalf("converting twice changed the spec (%+v):\n%s\n%s", st, compact(t, d.Spec), compact(t, twice))
			}
		}
		FileNames(doc.Deployments)
	})
}
