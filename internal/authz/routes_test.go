package authz

import (
	"testing"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		routes []RouteSpec
		want   string
	}{
		{
			name:   "empty path",
			routes: []RouteSpec{{Path: ""}},
			want:   `routes[0].path: is empty; write a path that starts with "/", such as "/hello"`,
		},
		{
			name:   "relative path",
			routes: []RouteSpec{{Path: "/ok"}, {Path: "hello/{name}"}},
			want:   `routes[1].path: "hello/{name}" does not start with "/"; write "/hello/{name}"`,
		},
		{
			name:   "empty segment reported once",
			routes: []RouteSpec{{Path: "//a//b"}},
			want:   `routes[0].path: "//a//b" has an empty segment ("//"); remove the extra "/"`,
		},
		{
			name:   "dot segments",
			routes: []RouteSpec{{Path: "/a/./b/.."}},
			want: `routes[0].path: segment "." is a dot segment, which no request path can hold; remove it` + "\n" +
				`routes[0].path: segment ".." is a dot segment, which no request path can hold; remove it`,
		},
		{
			name:   "invalid parameter names",
			routes: []RouteSpec{{Path: "/{}/{*}/{a-b}/{na me}"}},
			want: `routes[0].path: segment "{}": parameter name "" is invalid; use one or more letters, digits or "_"` + "\n" +
				`routes[0].path: segment "{*}": parameter name "" is invalid; use one or more letters, digits or "_"` + "\n" +
				`routes[0].path: segment "{a-b}": parameter name "a-b" is invalid; use one or more letters, digits or "_"` + "\n" +
				`routes[0].path: segment "{na me}": parameter name "na me" is invalid; use one or more letters, digits or "_"`,
		},
		{
			name:   "double star",
			routes: []RouteSpec{{Path: "/{p**}"}},
			want:   `routes[0].path: segment "{p**}": parameter name "p*" is invalid; use one or more letters, digits or "_"`,
		},
		{
			name:   "wildcard not last",
			routes: []RouteSpec{{Path: "/files/{path*}/meta"}, {Path: "/dir/{p*}/"}},
			want: `routes[0].path: segment "{path*}": a wildcard parameter must be the last segment; move it to the end of the path or write {path}` + "\n" +
				`routes[1].path: segment "{p*}": a wildcard parameter must be the last segment; move it to the end of the path or write {p}`,
		},
		{
			name:   "duplicate parameter",
			routes: []RouteSpec{{Path: "/{id}/x/{id*}"}},
			want:   `routes[0].path: segment "{id*}": parameter name "id" is already used in this path; rename one of them`,
		},
		{
			name:   "braces in a literal",
			routes: []RouteSpec{{Path: "/user{id}/a}/{b"}},
			want: `routes[0].path: segment "user{id}" mixes text and braces; a parameter is a whole segment, {name} or {name*}` + "\n" +
				`routes[0].path: segment "a}" mixes text and braces; a parameter is a whole segment, {name} or {name*}` + "\n" +
				`routes[0].path: segment "{b" mixes text and braces; a parameter is a whole segment, {name} or {name*}`,
		},
		{
			name:   "escapes no request may use",
			routes: []RouteSpec{{Path: "/a%2Fb/c%5cd/e%3Bf/g%25h/i%00/j%7F"}},
			want: `routes[0].path: segment "a%2Fb" holds %2F, an encoded '/', which keygate refuses in every request path (attack R3); write "/" to split the segment, or remove it` + "\n" +
				`routes[0].path: segment "c%5cd" holds %5c, an encoded '\\', which keygate refuses in every request path (attack R3), so no request could match; remove it` + "\n" +
				`routes[0].path: segment "e%3Bf" holds %3B, an encoded ';', which keygate refuses in every request path (attack R3), so no request could match; remove it` + "\n" +
				`routes[0].path: segment "g%25h" holds %25, an encoded '%', which keygate refuses in every request path (attack R3), so no request could match; remove it` + "\n" +
				`routes[0].path: segment "i%00" holds %00, an encoded '\x00', which keygate refuses in every request path (attack R3), so no request could match; remove it` + "\n" +
				`routes[0].path: segment "j%7F" holds %7F, an encoded '\x7f', which keygate refuses in every request path (attack R3), so no request could match; remove it`,
		},
		{
			name:   "malformed escapes",
			routes: []RouteSpec{{Path: "/100%/a%4/b%zz"}},
			want: `routes[0].path: segment "100%" has a '%' that starts no %XX escape; keygate refuses "%25" in requests (attack R3), so a literal '%' can never match: remove it` + "\n" +
				`routes[0].path: segment "a%4" has a '%' that starts no %XX escape; keygate refuses "%25" in requests (attack R3), so a literal '%' can never match: remove it` + "\n" +
				`routes[0].path: segment "b%zz" has a '%' that starts no %XX escape; keygate refuses "%25" in requests (attack R3), so a literal '%' can never match: remove it`,
		},
		{
			name:   "escaped dot segments",
			routes: []RouteSpec{{Path: "/%2E/.%2e/%2E%2E"}},
			want: `routes[0].path: segment "%2E" decodes to ".", a dot segment, which no request path can hold; remove it` + "\n" +
				`routes[0].path: segment ".%2e" decodes to "..", a dot segment, which no request path can hold; remove it` + "\n" +
				`routes[0].path: segment "%2E%2E" decodes to "..", a dot segment, which no request path can hold; remove it`,
		},
		{
			name:   "escapes not UTF-8",
			routes: []RouteSpec{{Path: "/caf%E9/%C3"}},
			want: `routes[0].path: segment "caf%E9" is not valid UTF-8; fix the encoding of the specification` + "\n" +
				`routes[0].path: segment "%C3" is not valid UTF-8; fix the encoding of the specification`,
		},
		{
			name:   "refused bytes in literals",
			routes: []RouteSpec{{Path: `/a\b/c;d/e` + "\x00" + `/f` + "\x7f"}},
			want: `routes[0].path: segment "a\\b" contains '\\', which a request path never holds; remove it` + "\n" +
				`routes[0].path: segment "c;d" contains ';', which a request path never holds; remove it` + "\n" +
				`routes[0].path: segment "e\x00" contains '\x00', which a request path never holds; remove it` + "\n" +
				`routes[0].path: segment "f\x7f" contains '\x7f', which a request path never holds; remove it`,
		},
		{
			name:   "literal not UTF-8",
			routes: []RouteSpec{{Path: "/caf\xe9"}},
			want:   `routes[0].path: segment "caf\xe9" is not valid UTF-8; fix the encoding of the specification`,
		},
		{
			name:   "unknown methods",
			routes: []RouteSpec{{Path: "/a", Methods: []string{"GET", "FETCH", "", "poſt"}}},
			want: `routes[0].methods[1]: "FETCH" is not a method; use one of ANY, HEAD, GET, POST, PUT, PATCH, DELETE, OPTIONS` + "\n" +
				`routes[0].methods[2]: "" is not a method; use one of ANY, HEAD, GET, POST, PUT, PATCH, DELETE, OPTIONS` + "\n" +
				`routes[0].methods[3]: "poſt" is not a method; use one of ANY, HEAD, GET, POST, PUT, PATCH, DELETE, OPTIONS`,
		},
		{
			name: "every problem of every route",
			routes: []RouteSpec{
				{Path: "/ok/{id}", Methods: []string{"get"}},
				{Path: "nope", Methods: []string{"TRACE"}},
				{Path: "/x/../{a}/{a}"},
			},
			want: `routes[1].path: "nope" does not start with "/"; write "/nope"` + "\n" +
				`routes[1].methods[0]: "TRACE" is not a method; use one of ANY, HEAD, GET, POST, PUT, PATCH, DELETE, OPTIONS` + "\n" +
				`routes[2].path: segment ".." is a dot segment, which no request path can hold; remove it` + "\n" +
				`routes[2].path: segment "{a}": parameter name "a" is already used in this path; rename one of them`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := Compile(tt.routes)
			if err == nil {
				t.Fatalf("Compile() = %v, nil; want error %q", table, tt.want)
			}
			if table != nil {
				t.Errorf("Compile() table = %v; want nil with an error", table)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Compile() error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name   string
		routes []RouteSpec
	}{
		{"no routes", nil},
		{"root", []RouteSpec{{Path: "/"}}},
		{"trailing slash", []RouteSpec{{Path: "/hello/"}, {Path: "/hello"}}},
		{"params", []RouteSpec{{Path: "/a/{b}/c/{d_1}/{Rest*}"}}},
		{"wildcard alone", []RouteSpec{{Path: "/{all*}"}}},
		{"odd literals", []RouteSpec{{Path: "/.well-known/a b/.../été/v1.2/*/a?b"}}},
		{"every character OCI allows but ';'", []RouteSpec{{Path: "/$-_.+!*'(),%41:@&="}, {Path: "/a$b/c-d/e_f/g.h/i+j/k!l/m*n/o'p/(q)/r,s/t%20u/v:w/x@y/z&a=b"}}},
		{"escapes", []RouteSpec{{Path: "/caf%C3%A9/caf%c3%a9/%7Euser/v1%2E2/%3F%23/%7Bx%7D"}}},
		{"methods in any case", []RouteSpec{{Path: "/a", Methods: []string{"any", "Get", "pOsT", "GET"}}}},
		{"empty methods", []RouteSpec{{Path: "/a", Methods: []string{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(tt.routes); err != nil {
				t.Errorf("Compile() error = %v; want nil", err)
			}
		})
	}
}
