package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestAppendJSONKeepsLastMember(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`{"a":{"x":1},"b":true,"a":{"y":null}}`, `{"b":true,"a":{"y":null}}`},
		{`[{"k":"v","k":"w"},{"k":"\u0000\"é"}]`, `[{"k":"w"},{"k":"\u0000\"é"}]`},
		{` {"n": 1.50e+3, "s": "x", "l": [], "o": {}} `, `{"n":1.50e+3,"s":"x","l":[],"o":{}}`},
		{`false`, `false`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, err := parseTree([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(n.appendJSON(nil)); got != tt.want {
				t.Errorf("appendJSON = %s; want %s", got, tt.want)
			}
		})
	}
}

// FuzzAppendJSON checks that the tree written back decodes, with
// encoding/json, to what the original text decodes to: the last of
// duplicate members wins in both.
func FuzzAppendJSON(f *testing.F) {
	for _, seed := range []string{`{"a":1,"a":{"b":[1,2,{"c":"d","c":null}]}}`, `[true,false,null,"\ud83d\ude00",-0.5e-3]`, `"x"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseTree(data)
		if err != nil {
			return
		}
		out := n.appendJSON(nil)
		var want, got any
		if err := decodeNumbers(data, &want); err != nil {
			t.Fatalf("parseTree accepted %q, which encoding/json refuses: %v", data, err)
		}
		if err := decodeNumbers(out, &got); err != nil {
			t.Fatalf("appendJSON(%q) = %q, which does not decode: %v", data, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("appendJSON(%q) = %q decodes to %v; want %v", data, out, got, want)
		}
	})
}

func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}
