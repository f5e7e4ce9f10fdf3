package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeUnverified(t *testing.T) {
	f := loadFixture()
	good, err := Sign(f.rsa, "rs256", "", map[string]any{"iss": testIssuer, "exp": 1})
	if err != nil {
		t.Fatal(err)
	}
	u, err := DecodeUnverified(good)
	if err != nil {
		t.Fatalf("DecodeUnverified(expired, signed) = %v, want no error: it checks nothing", err)
	}
	if got := u.Header["kid"]; got != "rs256" {
		t.Errorf("header kid = %v, want rs256", got)
	}
	if got := u.Claims["exp"]; got != json.Number("1") {
		t.Errorf("exp = %#v, want json.Number 1", got)
	}
	if u.SignatureLen != 256 {
		t.Errorf("SignatureLen = %d, want 256", u.SignatureLen)
	}

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"two segments", "a.b", ErrMalformed},
		{"bad base64", "a.b.c!", ErrMalformed},
		{"header not json", b64url("nope") + "." + b64url("{}") + ".c2ln", ErrMalformed},
		{"duplicate member", b64url(`{"alg":"RS256","alg":"none"}`) + "." + b64url("{}") + ".c2ln", ErrMalformed},
		{"too large", strings.Repeat("a", maxTokenBytes+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeUnverified(tt.raw); !errors.Is(err, tt.want) {
				t.Errorf("DecodeUnverified = %v, want %v", err, tt.want)
			}
		})
	}
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// FuzzDecodeUnverified checks that decoding never panics and agrees with
// Check: whatever Check can read a header from, DecodeUnverified decodes.
func FuzzDecodeUnverified(f *testing.F) {
	f.Add("a.b.c")
	f.Add(b64url(`{"alg":"RS256","kid":"k"}`) + "." + b64url(`{"exp":1}`) + ".c2ln")
	v := NewVerifier(nil, Policy{}, nil)
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := DecodeUnverified(raw)
		if tok, _ := v.Check(raw); tok != nil && tok.Claims != nil && (err != nil || u == nil) {
			t.Errorf("Check decoded %q but DecodeUnverified says %v", raw, err)
		}
	})
}
