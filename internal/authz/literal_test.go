package authz

import (
	"errors"
	"strings"
	"testing"
)

// TestOCIRoutePaths is the decision on the characters OCI allows in route
// paths ($ - _ . + ! * ' ( ) , % ; : @ & =), request by request: a literal
// matches the request segments whose canonical form (CanonicalPath) is
// byte-equal to its decoded form; requests are canonicalised as ever, so
// what attack R3 refuses is a 400 whatever the routes say.
func TestOCIRoutePaths(t *testing.T) {
	routes := []string{
		"/price$",            // 0
		"/a-b_c.d~e",         // 1
		"/x+y",               // 2
		"/bang!/star*",       // 3
		"/o'k/(p)/q,r",       // 4
		"/user:1@host",       // 5
		"/k&v=1",             // 6
		"/caf%C3%A9",         // 7
		"/sp%20ace",          // 8
		"/v1%2E2",            // 9
		"/%7Euser",           // 10
		"/q%3Fh%23",          // 11
		"/files/{p*}",        // 12
		"/items/{id}/x+y",    // 13
		"/a%2e%2E/%2E%2e%2E", // 14: "a.." and "..." are no dot segments
	}
	// No request keygate accepts could match these, so Compile refuses
	// them rather than keep routes that silently never match.
	for _, p := range []string{
		"/matrix;v=1", "/a%3Bb", "/100%25", "/a%25%32%65b", "/%2e%2e", "/a%2Fb", "/a%5Cb",
		"/a%00", "/a%ZZ", "/100%", "/a%C3",
	} {
		if _, err := Compile([]RouteSpec{{Path: p}}); err == nil {
			t.Errorf("Compile(%q) = nil error; want the route refused", p)
		}
	}
	specs := make([]RouteSpec, len(routes))
	for i, p := range routes {
		specs[i] = RouteSpec{Path: p}
	}
	table, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	const (
		badPath  = -1 // CanonicalPath refuses it: 400
		notFound = -2 // 404
	)
	tests := []struct {
		request string
		want    int // index into specs, or badPath, notFound
	}{
		{"/price$", 0},
		{"/price%24", 0},
		{"/a-b_c.d~e", 1},
		{"/a%2Db%5Fc.d%7Ee", 1},
		{"/x+y", 2},
		{"/x%2By", 2},
		{"/x%20y", notFound}, // '+' is no space in a path
		{"/x y", notFound},
		{"/bang!/star*", 3},
		{"/bang%21/star%2A", 3},
		{"/o'k/(p)/q,r", 4},
		{"/o%27k/%28p%29/q%2Cr", 4},
		{"/user:1@host", 5},
		{"/user%3A1%40host", 5},
		{"/k&v=1", 6},
		{"/k%26v%3D1", 6},
		{"/caf%C3%A9", 7},
		{"/caf%c3%a9", 7},
		{"/café", 7},
		{"/cafe%CC%81", notFound}, // another normalisation form: other bytes
		{"/sp%20ace", 8},
		{"/v1.2", 9},
		{"/v1%2E2", badPath}, // an escaped '.' is refused in requests (R3)
		{"/~user", 10},
		{"/%7euser", 10},
		{"/q%3Fh%23", 11},
		{"/files/a+b/$c", 12},
		{"/items/7/x+y", 13},
		{"/a../...", 14},

		// Attack R3 and its relatives: refused before any route is tried.
		{"/matrix;v=1", badPath},
		{"/matrix%3Bv=1", badPath},
		{"/100%25", badPath},
		{"/files/..;/admin", badPath},
		{"/files/..%3b/admin", badPath},
		{"/files/%2e%2e/admin", badPath},
		{"/files/..%2fadmin", badPath},
		{"/files/..%5cadmin", badPath},
		{"/files/%252e%252e/admin", badPath},
		{"/files/a%00", badPath},
		{"/files/%", badPath},
		{"/files//admin", badPath},
	}
	for _, tt := range tests {
		t.Run(tt.request, func(t *testing.T) {
			path, err := CanonicalPath(tt.request)
			if err != nil {
				if !errors.Is(err, ErrBadPath) || tt.want != badPath {
					t.Fatalf("CanonicalPath(%q) error = %v; want outcome %d", tt.request, err, tt.want)
				}
				return
			}
			if tt.want == badPath {
				t.Fatalf("CanonicalPath(%q) = %q; want ErrBadPath", tt.request, path)
			}
			m, err := table.Match("GET", path)
			switch {
			case tt.want == notFound && !errors.Is(err, ErrNotFound):
				t.Errorf("Match(%q) = %v, %v; want ErrNotFound", path, m, err)
			case tt.want >= 0 && (err != nil || m.Route != tt.want):
				t.Errorf("Match(%q) = route %d (%v); want route %d, %q", path, m.Route, err, tt.want, specs[tt.want].Path)
			}
		})
	}
}

// FuzzParseLiteral checks that every literal segment Compile accepts is matched by
// some request keygate accepts: the literal escaped as the gateway escapes a
// segment reads back, through CanonicalPath, as the literal itself.
func FuzzParseLiteral(f *testing.F) {
	for _, seed := range []string{"a", "caf%C3%A9", "v1%2E2", "%2E%2E", "a;b", "100%", "%7Bx%7D", "x+y=$", "%3F%23", "a%2F", "é"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "/") {
			return // a segment never holds '/'
		}
		seg, err := parseSegment(text, true)
		if err != nil || seg.kind != segLiteral || seg.text == "" {
			return
		}
		literal := seg.text
		request := "/" + EscapeSegment(literal)
		if len(request) > maxPathLen {
			return
		}
		got, err := CanonicalPath(request)
		if err != nil || got != "/"+literal {
			t.Fatalf("literal %q reads as %q, but CanonicalPath(%q) = %q, %v", text, literal, request, got, err)
		}
	})
}
