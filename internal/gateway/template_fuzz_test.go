package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/token"
)

// FuzzTemplate compiles arbitrary backend URL paths with context variables
// and expands them with arbitrary request values (attack R4). Neither step
// may panic; an expansion must be exactly the literals with each value
// escaped by authz.EscapeSegment (a wildcard segment by segment), so a value
// can never add a '/', '?', '#' or a dot segment of its own.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []struct{ tmpl, value string }{
		{"/items/${request.path[id]}", "../../admin"},
		{"/items/${request.path[id]}/end", "a?b#c"},
		{"/w/${request.path[rest]}", "a/../b"},
		{"/w/${request.path[rest]}", "./."},
		{"/q/${request.query[x]}", ".."},
		{"/h/${request.headers[X-Name]}x${request.auth[sub]}", "%2e%2e"},
		{"/${request.auth[sub]}", "a;b=c"},
		{"/static", ""},
		{"/a${", "x"},
		{"/a${request.path[id]", "x"},
		{"/a${request.nope[x]}", "x"},
		{"/a${request.path[undeclared]}", "x"},
		{"/${request.query[]}${request.headers[]}", "\x00\r\n"},
	} {
		f.Add(seed.tmpl, seed.value)
	}
	params := routeParams{"id": false, "rest": true}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		tpl, err := compileTemplate(tmpl, params, true)
		if err != nil {
			if tpl != nil {
				t.Fatalf("compileTemplate(%q) returned a template and error %v", tmpl, err)
			}
			return
		}
		r := &http.Request{URL: &url.URL{RawQuery: url.Values{"x": {value}}.Encode()}, Header: http.Header{}}
		r.Header.Set("X-Name", value)
		ex := &exchange{
			params:    authz.Params{{Name: "id", Value: value}, {Name: "rest", Value: value}},
			principal: &principal{claims: token.Claims{"sub": value}},
		}
		got := tpl.expand(r, ex)
		var want strings.Builder
		for _, p := range tpl.parts {
			if !p.isVar {
				want.WriteString(p.literal)
				continue
			}
			v := evalVariable(r, ex, p.v)
			if !p.wildcard {
				want.WriteString(authz.EscapeSegment(v))
				continue
			}
			for i, seg := range strings.Split(v, "/") {
				if i > 0 {
					want.WriteByte('/')
				}
				want.WriteString(authz.EscapeSegment(seg))
			}
		}
		if got != want.String() {
			t.Fatalf("expand(%q) with %q = %q, want %q", tmpl, value, got, want.String())
		}
		if tpl.static && got != tmpl {
			t.Fatalf("static template %q expanded to %q", tmpl, got)
		}
		for _, p := range tpl.parts {
			if !p.isVar {
				continue
			}
			v := evalVariable(r, ex, p.v)
			segs := []string{v}
			if p.wildcard {
				segs = strings.Split(v, "/")
			}
			for _, seg := range segs {
				esc := authz.EscapeSegment(seg)
				if strings.ContainsAny(esc, "/?#") || esc == "." || esc == ".." {
					t.Fatalf("value %q escaped to %q: not one plain segment", seg, esc)
				}
				if back, err := url.PathUnescape(esc); err != nil || back != seg {
					t.Fatalf("value %q escaped to %q, which reads back as %q (%v)", seg, esc, back, err)
				}
			}
		}
	})
}
