package gateway

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzWithoutQueryParam: whatever the query, the token parameter never
// survives (under any escaping url.ParseQuery would undo, nor behind a ';'
// for backends that split there too, R22), and every other pair and
// ';'-segment is kept as it was, in order.
func FuzzWithoutQueryParam(f *testing.F) {
	for _, seed := range []string{
		"access_token=abc", "a=1&access_token=abc&b=2", "access%5Ftoken=abc&c=3", "access_token", "&&access_token=&",
		"a=%zz&access_token=x", "access_token=a&access_token=b", "x=access_token=y", "%61ccess_token=1",
		"x=1;access_token=y", "access_token=y;x=1&z=2", ";access_token=y", "a=1;b=2", "x=1;access%5Ftoken=y;z=3",
	} {
		f.Add(seed)
	}
	const name = "access_token"
	f.Fuzz(func(t *testing.T, raw string) {
		out := withoutQueryParam(raw, name)
		// The kept pairs are the input's pairs minus the token's, in order.
		var want []string
		named := func(pair string) bool {
			key, _, _ := strings.Cut(pair, "=")
			k, err := url.QueryUnescape(key)
			return err == nil && k == name
		}
		for _, pair := range strings.Split(raw, "&") {
			if named(pair) {
				continue
			}
			if strings.Contains(pair, ";") {
				var segs []string
				for _, seg := range strings.Split(pair, ";") {
					if !named(seg) {
						segs = append(segs, seg)
					}
				}
				if len(segs) == 0 || len(segs) == 1 && segs[0] == "" && pair != "" {
					continue
				}
				pair = strings.Join(segs, ";")
			}
			want = append(want, pair)
		}
		if strings.Join(want, "&") != out {
			t.Fatalf("withoutQueryParam(%q) = %q, want %q", raw, out, strings.Join(want, "&"))
		}
		for _, seg := range strings.FieldsFunc(out, func(r rune) bool { return r == '&' || r == ';' }) {
			if named(seg) {
				t.Fatalf("withoutQueryParam(%q) = %q, which a ';'-splitting parser reads with %s", raw, out, name)
			}
		}
		if values, err := url.ParseQuery(out); err == nil && values.Has(name) {
			t.Fatalf("withoutQueryParam(%q) = %q, which url.ParseQuery reads with %s", raw, out, name)
		}
	})
}
