package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzParseDiscovery: a provider's document is outside input; parsing it
// never panics, and an accepted document has an issuer and a jwks_uri.
func FuzzParseDiscovery(f *testing.F) {
	const uri = "https://idp.example.com" + WellKnownSuffix
	f.Add([]byte(`{"issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/keys"}`))
	f.Add([]byte(`{"issuer":"https://idp.example.com/","jwks_uri":"https://idp.example.com/keys","introspection_endpoint":"http://x/i"}`))
	f.Add([]byte(`{"issuer":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseDiscovery(uri, body)
		if err != nil {
			if !errors.Is(err, ErrBadDiscovery) {
				t.Fatalf("error %v does not wrap ErrBadDiscovery", err)
			}
			return
		}
		if d.Issuer == "" || d.JWKSURI == "" || !d.IssuerMatches("https://idp.example.com") {
			t.Fatalf("accepted %+v", d)
		}
	})
}

// FuzzIntrospectionAnswer: an introspection answer is outside input;
// checking it never panics, and only an active answer with a future exp
// is accepted.
func FuzzIntrospectionAnswer(f *testing.F) {
	f.Add([]byte(`{"active":true,"exp":4102444800,"sub":"a","scope":"x y"}`))
	f.Add([]byte(`{"active":true,"exp":"4102444800"}`))
	f.Add([]byte(`{"active":"true","exp":4102444800}`))
	f.Add([]byte(`{"active":true,"exp":1e400}`))
	f.Add([]byte(`{"active":true,"exp":4102444800,"iss":"https://evil"}`))
	now := time.Unix(1_800_000_000, 0)
	in := NewIntrospector(IntrospectorConfig{Provider: NewProvider("https://idp.example.com"+WellKnownSuffix, nil, nil),
		Now: func() time.Time { return now }})
	d := &Discovery{Issuer: "https://idp.example.com", JWKSURI: "https://idp.example.com/keys"}
	f.Fuzz(func(t *testing.T, body []byte) {
		var claims map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&claims) != nil || claims == nil {
			return
		}
		a, err := in.check(d, claims)
		if err != nil {
			return
		}
		if claims["active"] != true || !a.expiry.After(now) {
			t.Fatalf("accepted %s", body)
		}
		if iss, ok := claims["iss"]; ok && iss != d.Issuer {
			t.Fatalf("accepted iss %v", iss)
		}
	})
}
