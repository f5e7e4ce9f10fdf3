package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckJSONObject(t *testing.T) {
	nest := func(n int) string { return strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1) }
	arrays := func(n int) string { return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + "}" }
	tests := []struct {
		in      string
		wantErr string // substring; "" means accepted
	}{
		{`{}`, ""},
		{" \t\r\n{ \"a\" : [ 1 , -0.5e+3 , true , false , null , \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\" ] } \n", ""},
		{`{"a":{"a":1},"b":{"a":1}}`, ""},
		{`{"é":1,"e\u0301":2}`, ""},
		{nest(32), ""},
		{nest(33), "nested deeper than 32"},
		{arrays(32), ""},
		{arrays(33), "nested deeper than 32"},
		{`{"a":1,"a":1}`, `duplicate member "a"`},
		{`{"a":1,"\u0061":1}`, `duplicate member "a"`},
		{`{"\ud800":1,"\udc00":1}`, "duplicate member \"\ufffd\""},
		{`{"x":[{"k":1,"k":2}]}`, `duplicate member "k"`},
		{`[]`, "not a JSON object"},
		{`"s"`, "not a JSON object"},
		{``, "not a JSON object"},
		{`{} {}`, "data after the object"},
		{`{"a":1,}`, "expected a member name"},
		{`{"a" 1}`, "expected ':'"},
		{`{"a":1 "b":2}`, "expected ',' or '}'"},
		{`{"a":[1 2]}`, "expected ',' or ']'"},
		{`{"a":01}`, "expected ',' or '}'"},
		{`{"a":1.}`, "bad number"},
		{`{"a":.5}`, "unexpected character"},
		{`{"a":1e}`, "bad number"},
		{`{"a":-}`, "bad number"},
		{`{"a":+1}`, "unexpected character"},
		{`{"a":tru}`, "unexpected character"},
		{`{"a":NaN}`, "unexpected character"},
		{`{"a":"\x"}`, "bad string escape"},
		{`{"a":"\u12"}`, `bad \u escape`},
		{"{\"a\":\"\t\"}", "control character"},
		{`{"a":"x`, "unterminated string"},
		{`{"a":`, "unexpected end"},
		{"{\"a\":\"\xff\"}", "not valid UTF-8"},
		{`{'a':1}`, "expected a member name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := checkJSONObject([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckJSONObjectNoAllocations(t *testing.T) {
	payload := []byte(validPayload())
	if n := testing.AllocsPerRun(100, func() { _ = checkJSONObject(payload) }); n > 1 {
		t.Errorf("checkJSONObject made %.0f allocations on a typical payload, want at most 1", n)
	}
}

// referenceCheck is the slow, obviously right version of checkJSONObject,
// built on encoding/json's token stream: the differential fuzz target
// compares the two.
func referenceCheck(b []byte) error {
	if !utf8.Valid(b) || !json.Valid(b) {
		return errors.New("invalid")
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return errors.New("not an object")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type frame struct {
		names   map[string]bool
		isObj   bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == maxJSONDepth {
				return errors.New("too deep")
			}
			if top != nil && top.isObj {
				top.wantKey = true
			}
			stack = append(stack, &frame{names: map[string]bool{}, isObj: tok == json.Delim('{'), wantKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top.isObj && top.wantKey {
			name := tok.(string)
			if top.names[name] {
				return errors.New("duplicate")
			}
			top.names[name] = true
			top.wantKey = false
		} else if top.isObj {
			top.wantKey = true
		}
	}
}

// FuzzCheckJSON holds checkJSONObject to the verdict of referenceCheck, and
// whatever it accepts to decode with encoding/json.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"a":2}`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"\u0061":1,"a":2}`,
		validPayload(), `{"alg":"ES256","kid":"k"}`, `{"a":[[[[[[[[]]]]]]]]}`, `{"a":"\ud800"}`,
		`{"a":1e400,"b":-0.0E-0}`, "{\"a\":\"\xff\"}", `{"a":1}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := checkJSONObject(b)
		want := referenceCheck(b)
		if (got == nil) != (want == nil) {
			t.Fatalf("checkJSONObject(%q) = %v, reference says %v", b, got, want)
		}
		if got != nil {
			return
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("accepted %q, which encoding/json cannot decode: %v", b, err)
		}
		if reflect.ValueOf(m).IsNil() {
			t.Fatalf("accepted %q, which decodes to no object", b)
		}
	})
}
