package token

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// referenceDecode is what decodeObject replaced: encoding/json with
// UseNumber. decodeObject must give the same values for every object
// checkJSONObject accepts.
func referenceDecode(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// jsonDecodeSeeds are objects with every kind of value, escapes of every
// sort (including lone and paired surrogates), nesting, empty containers
// and odd spacing.
var jsonDecodeSeeds = []string{
	`{}`,
	` { } `,
	`{"alg":"RS256","kid":"k1","typ":"JWT"}`,
	`{"iss":"https://auth.example.test/","aud":["a","b"],"exp":1767225600,"iat":1.5e9,"nbf":-0.25,"scope":"a b  c"}`,
	`{"a":null,"b":true,"c":false,"d":[],"e":{},"f":[[]],"g":{"h":{"i":[1,{"j":"k"}]}}}`,
	"{\n\t\"a\" :\r\n [ 1 , 2 ,3 ] , \"b\":\"x\" }",
	`{"esc":"a\"b\\c\/d\b\f\n\r\t","u":"\u0041\u00e9\u20ac","pair":"\ud83d\ude00","lone":"\ud800x","low":"\udc00"}`,
	`{"\u0061lg":"RS256","k\"y":1}`,
	`{"big":123456789012345678901234567890,"exp":1e400,"neg":-0,"frac":0.000001}`,
	`{"utf8":"café 日本 \u2028","ctl":"\u0000\u001f"}`,
	`{"brackets":"]}[{,\"","after":[",",{"x":"}"}]}`,
	`{"a":[null,true,false,"s",1,[],{}]}`,
}

func TestDecodeObjectMatchesJSON(t *testing.T) {
	for _, in := range jsonDecodeSeeds {
		if err := checkJSONObject([]byte(in)); err != nil {
			t.Fatalf("seed %s is refused by the checker: %v", in, err)
		}
		want, err := referenceDecode([]byte(in))
		if err != nil {
			t.Fatalf("encoding/json refuses %s: %v", in, err)
		}
		got, err := decodeObject(in)
		if err != nil {
			t.Errorf("decodeObject(%s): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decodeObject(%s)\n got %#v\nwant %#v", in, got, want)
		}
	}
}

// FuzzDecodeObject: for any input the checker accepts, decodeObject gives
// exactly what encoding/json gives; for any input at all it never panics.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range jsonDecodeSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"a":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotErr := decodeObject(string(b))
		if checkJSONObject(b) != nil {
			return // never decoded in keygate; only the absence of a panic counts
		}
		want, err := referenceDecode(b)
		if err != nil {
			t.Fatalf("checker accepts %q, encoding/json refuses it: %v", b, err)
		}
		if gotErr != nil {
			t.Fatalf("decodeObject(%q): %v", b, gotErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeObject(%q)\n got %#v\nwant %#v", b, got, want)
		}
	})
}

// TestDecodeObjectAllocations: a typical payload costs the map and one
// box per string or number value, nothing per name.
func TestDecodeObjectAllocations(t *testing.T) {
	payload := `{"iss":"https://auth.example.test/","aud":"api://x","sub":"u1","exp":1767225600,"scope":"a b"}`
	n := testing.AllocsPerRun(100, func() {
		if _, err := decodeObject(payload); err != nil {
			t.Fatal(err)
		}
	})
	if n > 8 { // the map (5 members: one group) and 5 boxed values, with one to spare
		t.Errorf("decoding a 5-member payload costs %v allocations, want at most 8", n)
	}
}

// referenceHeader is what Verify read of a header before readHeader: the
// decoded map, asked for alg, kid, typ and the forbidden members.
func referenceHeader(m map[string]any) joseHeader {
	var h joseHeader
	alg, hasAlg := m["alg"]
	h.alg, h.algString = alg.(string)
	h.hasAlg = hasAlg
	kid, hasKid := m["kid"]
	h.kid, h.kidString = kid.(string)
	h.hasKid = hasKid
	h.typ, _ = m["typ"].(string)
	for _, name := range forbiddenHeaders {
		if _, ok := m[name]; ok {
			h.forbidden = name
			break
		}
	}
	return h
}

var headerSeeds = []string{
	`{"alg":"RS256","kid":"k1","typ":"JWT"}`,
	`{"kid":"k1"}`,
	`{"alg":5,"kid":null,"typ":["JWT"]}`,
	`{"alg":"RS256","kid":"","x5c":["MII"],"crit":["b64"],"jku":"http://x"}`,
	`{"\u0061lg":"RS\u0032\u00356","k\u0069d":"\ud83d\ude00","j\u006bu":{}}`,
	`{"ALG":"RS256","Kid":"k","jwk":{"kty":"RSA","n":"x","e":"AQAB"},"alg":"ES256","kid":"k2"}`,
	`{"nested":{"alg":"none","kid":"evil"},"alg":"RS256","kid":"k","arr":[{"x5u":1}],"num":-1.5e3,"t":true}`,
	` {"alg" : "RS256" , "kid" : "k" } `,
	`{}`,
}

// TestReadHeaderMatchesDecodedMap: readHeader reads alg, kid, typ and the
// forbidden members as the decoded map says they are (nested objects and
// escaped names included).
func TestReadHeaderMatchesDecodedMap(t *testing.T) {
	for _, in := range headerSeeds {
		compareHeader(t, []byte(in))
	}
}

func FuzzReadHeader(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkJSONObject(b) != nil {
			_, err := readHeader(&compact{header: b, headerText: string(b)})
			if err == nil {
				t.Fatalf("readHeader accepts %q, which the checker refuses", b)
			}
			return
		}
		compareHeader(t, b)
	})
}

func compareHeader(t *testing.T, b []byte) {
	t.Helper()
	parts := &compact{header: b, headerText: string(b)}
	m, err := decodeHeader(parts)
	if err != nil {
		t.Fatalf("decodeHeader(%s): %v", b, err)
	}
	got, err := readHeader(parts)
	if err != nil {
		t.Fatalf("readHeader(%s): %v", b, err)
	}
	if want := referenceHeader(m); got != want {
		t.Fatalf("readHeader(%s)\n got %+v\nwant %+v", b, got, want)
	}
}
