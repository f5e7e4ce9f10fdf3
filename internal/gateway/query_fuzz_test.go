package gateway

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzWithoutQueryParam: whatever the query, the token parameter never
// survives (under any escaping url.ParseQuery would undo), and every other
// pair is kept as it was, in order.
func FuzzWithoutQueryParam(f *testing.F) {
	for _, seed := range []string{
		"access_token=abc", "a=1&access_token=abc&b=2", "access%5Ftoken=abc&c=3", "access_token", "&&access_token=&",
		"a=%zz&access_token=x", "access_token=a&access_token=b", "x=access_token=y", "%61ccess_token=1",
	} {
		f.Add(seed)
	}
	const name = "access_token"
	f.Fuzz(func(t *testing.T, raw string) {
		out := withoutQueryParam(raw, name)
		// The kept pairs are the input's pairs minus the token's, in order.
		var want []string
		for _, pair := range strings.Split(raw, "&") {
			key, _, _ := strings.Cut(pair, "=")
			if k, err := url.QueryUnescape(key); err == nil && k == name {
				continue
			}
			want = append(want, pair)
		}
		if strings.Join(want, "&") != out {
			t.Fatalf("withoutQueryParam(%q) = %q, want %q", raw, out, strings.Join(want, "&"))
		}
		if values, err := url.ParseQuery(out); err == nil && values.Has(name) {
			t.Fatalf("withoutQueryParam(%q) = %q, which url.ParseQuery reads with %s", raw, out, name)
		}
	})
}
