package token

// Rows T8 and T9 of attacks.md: times, issuer and audience.

import (
	"encoding/json"
	"testing"
	"time"
)

// at returns the NumericDate d away from testNow.
func at(d time.Duration) int64 { return testNow.Add(d).Unix() }

// atFrac returns a fractional NumericDate d away from testNow.
func atFrac(d time.Duration) json.Number {
	return json.Number(formatFrac(float64(testNow.Add(d).UnixNano()) / 1e9))
}

func formatFrac(f float64) string { return string(must(json.Marshal(f))) }

func TestT8Times(t *testing.T) {
	tests := []struct {
		name  string
		skew  time.Duration
		edits map[string]any
		want  error // nil: accepted
	}{
		{"exp missing", 0, map[string]any{"exp": deleted}, ErrMissingExp},
		{"exp null", 0, map[string]any{"exp": jsonNull}, ErrMissingExp},
		{"exp a string", 0, map[string]any{"exp": "1900000000"}, ErrMissingExp},
		{"exp a bool", 0, map[string]any{"exp": true}, ErrMissingExp},
		{"exp an array", 0, map[string]any{"exp": []any{at(time.Hour)}}, ErrMissingExp},
		{"exp == now", 0, map[string]any{"exp": at(0)}, ErrExpired},
		{"exp 1s ago", 0, map[string]any{"exp": at(-time.Second)}, ErrExpired},
		{"exp in 1s", 0, map[string]any{"exp": at(time.Second)}, nil},
		{"exp == now within skew", 30 * time.Second, map[string]any{"exp": at(0)}, nil},
		{"exp 29s ago, skew 30s", 30 * time.Second, map[string]any{"exp": at(-29 * time.Second)}, nil},
		{"exp 30s ago, skew 30s", 30 * time.Second, map[string]any{"exp": at(-30 * time.Second)}, ErrExpired},
		{"negative skew counts as 0", -time.Minute, map[string]any{"exp": at(time.Second)}, nil},
		{"fractional exp in 0.5s", 0, map[string]any{"exp": atFrac(500 * time.Millisecond)}, nil},
		{"fractional exp 0.5s ago", 0, map[string]any{"exp": atFrac(-500 * time.Millisecond)}, ErrExpired},
		{"exp far beyond any date", 0, map[string]any{"exp": json.Number("1e400")}, nil},
		{"exp hugely negative", 0, map[string]any{"exp": json.Number("-1e400")}, ErrExpired},
		{"nbf == now", 0, map[string]any{"nbf": at(0)}, nil},
		{"nbf in 1s", 0, map[string]any{"nbf": at(time.Second)}, ErrNotYetValid},
		{"nbf in 30s, skew 30s", 30 * time.Second, map[string]any{"nbf": at(30 * time.Second)}, nil},
		{"nbf in 31s, skew 30s", 30 * time.Second, map[string]any{"nbf": at(31 * time.Second)}, ErrNotYetValid},
		{"nbf a string", 0, map[string]any{"nbf": "0"}, ErrNotYetValid},
		{"nbf null", 0, map[string]any{"nbf": jsonNull}, ErrNotYetValid},
		{"iat == now", 0, map[string]any{"iat": at(0)}, nil},
		{"iat missing", 0, map[string]any{"iat": deleted}, nil},
		// OCI applies the skew to exp and nbf only: a future iat passes (T8).
		{"iat in 1s", 0, map[string]any{"iat": at(time.Second)}, nil},
		{"iat in 31s, skew 30s", 30 * time.Second, map[string]any{"iat": at(31 * time.Second)}, nil},
		{"iat a day ahead", 0, map[string]any{"iat": at(24 * time.Hour)}, nil},
		{"iat fractional in 0.1s", 0, map[string]any{"iat": atFrac(100 * time.Millisecond)}, nil},
		{"iat a string", 0, map[string]any{"iat": "now"}, ErrInvalidIat},
		{"iat null", 0, map[string]any{"iat": jsonNull}, ErrInvalidIat},
		{"EXP instead of exp", 0, map[string]any{"exp": deleted, "EXP": at(time.Hour)}, ErrMissingExp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.MaxClockSkew = tt.skew
			v, _ := newTestVerifier(t, p)
			_, err := v.Verify(signKid(t, "es256", withClaims(tt.edits)))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				return
			}
			wantRejected(t, err, tt.want)
		})
	}
}

func TestT9IssuerAudience(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]any
		want  error
	}{
		{"aud string", map[string]any{"aud": testAudience}, nil},
		{"aud array containing ours", map[string]any{"aud": []any{"other", testAudience}}, nil},
		{"aud missing", map[string]any{"aud": deleted}, ErrAudience},
		{"aud null", map[string]any{"aud": jsonNull}, ErrAudience},
		{"aud empty array", map[string]any{"aud": []any{}}, ErrAudience},
		{"aud other value", map[string]any{"aud": "api://other"}, ErrAudience},
		{"aud other case", map[string]any{"aud": "API://KEYGATE"}, ErrAudience},
		{"aud trailing slash", map[string]any{"aud": testAudience + "/"}, ErrAudience},
		{"aud array without ours", map[string]any{"aud": []any{"a", "b"}}, ErrAudience},
		{"aud array with a number", map[string]any{"aud": []any{testAudience, 1}}, ErrAudience},
		{"aud nested array", map[string]any{"aud": []any{[]any{testAudience}}}, ErrAudience},
		{"aud a number", map[string]any{"aud": 1}, ErrAudience},
		{"aud an object", map[string]any{"aud": map[string]any{testAudience: true}}, ErrAudience},
		{"Aud instead of aud", map[string]any{"aud": deleted, "Aud": testAudience}, ErrAudience},
		{"iss missing", map[string]any{"iss": deleted}, ErrIssuer},
		{"iss trailing slash", map[string]any{"iss": testIssuer + "/"}, ErrIssuer},
		{"iss other case", map[string]any{"iss": "https://ISSUER.example.com"}, ErrIssuer},
		{"iss an array", map[string]any{"iss": []any{testIssuer}}, ErrIssuer},
		{"iss null", map[string]any{"iss": jsonNull}, ErrIssuer},
		{"iss second configured", map[string]any{"iss": "https://second.example.com"}, nil},
		{"ISS instead of iss", map[string]any{"iss": deleted, "ISS": testIssuer}, ErrIssuer},
	}
	p := testPolicy()
	p.Issuers = append(p.Issuers, "https://second.example.com")
	v, _ := newTestVerifier(t, p)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(signKid(t, "rs256", withClaims(tt.edits)))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				return
			}
			wantRejected(t, err, tt.want)
		})
	}
}
