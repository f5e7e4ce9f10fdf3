package token

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// decodedClaims decodes payload JSON as Verify does.
func decodedClaims(t *testing.T, payload string) Claims {
	t.Helper()
	c, err := decodeClaims(&compact{payload: []byte(payload), payloadText: payload})
	if err != nil {
		t.Fatalf("decodeClaims(%s): %v", payload, err)
	}
	return c
}

func TestClaimsScopes(t *testing.T) {
	tests := []struct {
		payload string
		want    []string
	}{
		{`{"scope":"a b c"}`, []string{"a", "b", "c"}},
		{`{"scope":"  a   b "}`, []string{"a", "b"}},
		{`{"scope":"a"}`, []string{"a"}},
		{`{"scope":""}`, nil},
		{`{"scope":"Orders.Read"}`, []string{"Orders.Read"}},
		{`{"scope":"a\tb"}`, []string{"a\tb"}},
		{`{"scope":["a","b"]}`, []string{"a", "b"}},
		{`{"scope":["a b"]}`, []string{"a b"}},
		{`{"scope":["a",""]}`, []string{"a"}},
		{`{"scope":[]}`, nil},
		{`{"scope":["a",1]}`, nil},
		{`{"scope":["a",null]}`, nil},
		{`{"scope":[["a"]]}`, nil},
		{`{"scope":1}`, nil},
		{`{"scope":true}`, nil},
		{`{"scope":null}`, nil},
		{`{"scope":{"a":true}}`, nil},
		{`{}`, nil},
		{`{"Scope":"a","scp":["b"],"scopes":"c"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			if got := decodedClaims(t, tt.payload).Scopes(); !slices.Equal(got, tt.want) {
				t.Errorf("Scopes() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClaimsValue(t *testing.T) {
	tests := []struct {
		payload string
		want    string
		wantOK  bool
	}{
		{`{"c":"text"}`, "text", true},
		{`{"c":""}`, "", true},
		{`{"c":"<a&b>"}`, "<a&b>", true},
		{`{"c":42}`, "42", true},
		{`{"c":1.50}`, "1.50", true},
		{`{"c":1e3}`, "1e3", true},
		{`{"c":12345678901234567890}`, "12345678901234567890", true},
		{`{"c":-0}`, "-0", true},
		{`{"c":true}`, "true", true},
		{`{"c":false}`, "false", true},
		{`{"c":["a", 1, true, null]}`, `["a",1,true,null]`, true},
		{`{"c":[]}`, `[]`, true},
		{`{"c":{"z":1, "a":["<x>"]}}`, `{"a":["<x>"],"z":1}`, true},
		{`{"c":null}`, "", false},
		{`{}`, "", false},
		{`{"C":"x"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			got, ok := decodedClaims(t, tt.payload).Value("c")
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Value(%q) = %q, %v; want %q, %v", "c", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestClaimsIssuerSubject(t *testing.T) {
	tests := []struct {
		payload, wantIss, wantSub string
	}{
		{`{"iss":"i","sub":"s"}`, "i", "s"},
		{`{"iss":1,"sub":["s"]}`, "", ""},
		{`{}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			c := decodedClaims(t, tt.payload)
			if c.Issuer() != tt.wantIss || c.Subject() != tt.wantSub {
				t.Errorf("Issuer(), Subject() = %q, %q; want %q, %q", c.Issuer(), c.Subject(), tt.wantIss, tt.wantSub)
			}
		})
	}
	var none Claims
	if none.Issuer() != "" || none.Subject() != "" || none.Scopes() != nil {
		t.Error("nil Claims: want empty issuer, subject and scopes")
	}
}

func TestClaimsKeepNumbers(t *testing.T) {
	c := decodedClaims(t, `{"exp":1795773600,"big":123456789012345678901234567890}`)
	if _, ok := c["exp"].(json.Number); !ok {
		t.Fatalf("exp is %T, want json.Number", c["exp"])
	}
	got, _ := json.Marshal(c["big"])
	if !bytes.Equal(got, []byte("123456789012345678901234567890")) {
		t.Errorf("big = %s, want the digits as written", got)
	}
}
