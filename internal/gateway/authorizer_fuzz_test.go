package gateway

import (
	"testing"
	"time"
)

// FuzzParseVerdict: whatever an authorizer function answers, reading it
// never panics, and a verdict it accepts is cached for 60 s to 1 h.
func FuzzParseVerdict(f *testing.F) {
	for _, seed := range []string{
		`{"active": true, "scope": ["a", "b"], "expiresAt": "2030-05-30T10:15:30+01:00", "context": {"email": "j@example.com"}}`,
		`{"active": false, "wwwAuthenticate": "Bearer realm=\"example.com\""}`,
		`{"active": true, "scope": "a b  c", "context": {"n": 5, "o": {"x": [1, 2]}}, "principal": "p", "clientId": "c"}`,
		`{"active": "true"}`, `[]`, `null`, `{}`, `{"scope": [1]}`, `{"expiresAt": 5}`, `{"a":1}{"b":2}`,
		`{"active": true, "wwwAuthenticate": "a\r\nb"}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2030, 5, 30, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseVerdict(data, now)
		if err != nil {
			return
		}
		if ttl := v.expires.Sub(now); ttl < authorizerMinTTL || ttl > authorizerMaxTTL {
			t.Errorf("cached for %v", ttl)
		}
		if !validHeaderValue(v.wwwAuthenticate) {
			t.Errorf("wwwAuthenticate %q is no header value", v.wwwAuthenticate)
		}
		for _, s := range v.scopes {
			if s == "" {
				t.Error("an empty scope")
			}
		}
	})
}
