package gateway

import (
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestBodyRuleMatch: the most specific content key matches, media types
// compare case-insensitively without their parameters.
func TestBodyRuleMatch(t *testing.T) {
	rule := compileBodyRule(&config.BodyValidation{Content: map[string]config.ContentValidation{
		"text/plain": {ValidationType: "NONE"}, "Text/*": {ValidationType: "NONE"}, "*/*": {ValidationType: "NONE"},
		"application/JSON": {ValidationType: "NONE"},
	}})
	narrow := compileBodyRule(&config.BodyValidation{Content: map[string]config.ContentValidation{
		"application/json": {ValidationType: "NONE"}, "image/*": {ValidationType: "NONE"},
	}})
	tests := []struct {
		contentType  string
		want, narrow string
	}{
		{"text/plain", "text/plain", ""},
		{"TEXT/PLAIN; charset=utf-8", "text/plain", ""},
		{"text/html", "text/*", ""},
		{"application/json", "application/json", "application/json"},
		{"application/json;charset=UTF-8", "application/json", "application/json"},
		{"application/jsonx", "*/*", ""},
		{"image/png", "*/*", "image/*"},
		{" image/png ", "*/*", "image/*"},
	}
	for _, tt := range tests {
		mt, ok := parseMediaType(tt.contentType)
		if !ok {
			t.Errorf("parseMediaType(%q) failed", tt.contentType)
			continue
		}
		if got := rule.match(mt); got != tt.want {
			t.Errorf("match(%q) = %q, want %q", tt.contentType, got, tt.want)
		}
		if got := narrow.match(mt); got != tt.narrow {
			t.Errorf("narrow match(%q) = %q, want %q", tt.contentType, got, tt.narrow)
		}
	}
	for _, bad := range []string{"", "json", "text/", "/plain", "*/*", "text/*", "a b/c", "text/plain/x", "tëxt/plain"} {
		if mt, ok := parseMediaType(bad); ok {
			t.Errorf("parseMediaType(%q) = %q, want no media type", bad, mt)
		}
	}
}

// TestQueryHas: names match case-insensitively and decoded, with or
// without a value; values and longer names do not.
func TestQueryHas(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"state=1", true},
		{"STATE=1", true},
		{"a=1&state", true},
		{"state=", true},
		{"&&state&&", true},
		{"st%61te=1", true},
		{"st%41TE", true},
		{"", false},
		{"states=1", false},
		{"x=state", false},
		{"stat=e", false},
		{"st%zzate=1", false},
		{"state%3D1", false},
	}
	for _, tt := range tests {
		if got := queryHas(tt.query, "state"); got != tt.want {
			t.Errorf("queryHas(%q, state) = %v, want %v", tt.query, got, tt.want)
		}
	}
	if !queryHas("page+size=1", "page size") || !queryHas("page%20size=1", "page size") {
		t.Error("a '+' or %20 in a name is not read as a space")
	}
}
