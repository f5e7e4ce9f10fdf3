package authz

import (
	"errors"
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	get := []string{"GET"}
	tests := []struct {
		name         string
		routes       []RouteSpec
		method, path string
		wantRoute    int
		wantParams   Params
		wantErr      error    // ErrNotFound or ErrMethodNotAllowed
		wantAllow    []string // with ErrMethodNotAllowed
	}{
		{
			name:   "literal over param over wildcard",
			routes: []RouteSpec{{Path: "/users/{rest*}"}, {Path: "/users/{id}"}, {Path: "/users/me"}},
			method: "GET", path: "/users/me", wantRoute: 2,
		},
		{
			name:   "param over wildcard",
			routes: []RouteSpec{{Path: "/users/{rest*}"}, {Path: "/users/me"}, {Path: "/users/{id}"}},
			method: "GET", path: "/users/42", wantRoute: 2, wantParams: Params{{"id", "42"}},
		},
		{
			name:   "wildcard when nothing else fits",
			routes: []RouteSpec{{Path: "/users/{id}"}, {Path: "/users/me"}, {Path: "/users/{rest*}"}},
			method: "GET", path: "/users/42/orders", wantRoute: 2, wantParams: Params{{"rest", "42/orders"}},
		},
		{
			name:   "first segment decides",
			routes: []RouteSpec{{Path: "/{a}/b/c"}, {Path: "/a/{b}/{c}"}},
			method: "GET", path: "/a/b/c", wantRoute: 1, wantParams: Params{{"b", "b"}, {"c", "c"}},
		},
		{
			name:   "exact route over wildcard of no segment",
			routes: []RouteSpec{{Path: "/files/{p*}"}, {Path: "/files"}},
			method: "GET", path: "/files", wantRoute: 1,
		},
		{
			name:   "root over wildcard",
			routes: []RouteSpec{{Path: "/{all*}"}, {Path: "/"}},
			method: "GET", path: "/", wantRoute: 1,
		},
		{
			name:   "tie goes to the first",
			routes: []RouteSpec{{Path: "/x"}, {Path: "/a/{one}"}, {Path: "/a/{two}"}},
			method: "GET", path: "/a/b", wantRoute: 1, wantParams: Params{{"one", "b"}},
		},
		{
			name:   "tie of identical routes",
			routes: []RouteSpec{{Path: "/a"}, {Path: "/a"}},
			method: "GET", path: "/a", wantRoute: 0,
		},
		{
			name:   "param value decoded",
			routes: []RouteSpec{{Path: "/hello/{name}"}},
			method: "GET", path: mustCanonical(t, "/hello/J%C3%BCrgen%20M%3F"), wantRoute: 0,
			wantParams: Params{{"name", "Jürgen M?"}},
		},
		{
			name:   "literal compared decoded",
			routes: []RouteSpec{{Path: "/a b/été"}},
			method: "GET", path: mustCanonical(t, "/a%20b/%C3%A9t%C3%A9"), wantRoute: 0,
		},
		{
			name:   "param needs a non-empty segment",
			routes: []RouteSpec{{Path: "/hello/{name}"}},
			method: "GET", path: "/hello/", wantErr: ErrNotFound,
		},
		{
			name:   "wildcard of zero segments",
			routes: []RouteSpec{{Path: "/files/{p*}"}},
			method: "GET", path: "/files", wantRoute: 0, wantParams: Params{{"p", ""}},
		},
		{
			name:   "wildcard of one empty segment",
			routes: []RouteSpec{{Path: "/files/{p*}"}},
			method: "GET", path: "/files/", wantRoute: 0, wantParams: Params{{"p", ""}},
		},
		{
			name:   "wildcard of one segment",
			routes: []RouteSpec{{Path: "/files/{p*}"}},
			method: "GET", path: "/files/a", wantRoute: 0, wantParams: Params{{"p", "a"}},
		},
		{
			name:   "wildcard of many segments, decoded",
			routes: []RouteSpec{{Path: "/files/{p*}"}},
			method: "GET", path: mustCanonical(t, "/files/a/b%20c/d/"), wantRoute: 0, wantParams: Params{{"p", "a/b c/d/"}},
		},
		{
			name:   "params before a wildcard",
			routes: []RouteSpec{{Path: "/{tenant}/files/{p*}"}},
			method: "GET", path: "/acme/files/x/y", wantRoute: 0, wantParams: Params{{"tenant", "acme"}, {"p", "x/y"}},
		},
		{
			name:   "wildcard does not match a longer literal",
			routes: []RouteSpec{{Path: "/files/{p*}"}},
			method: "GET", path: "/filesystem", wantErr: ErrNotFound,
		},
		{
			name:   "trailing slash route",
			routes: []RouteSpec{{Path: "/hello"}, {Path: "/hello/"}},
			method: "GET", path: "/hello/", wantRoute: 1,
		},
		{
			name:   "no trailing slash route",
			routes: []RouteSpec{{Path: "/hello/"}, {Path: "/hello"}},
			method: "GET", path: "/hello", wantRoute: 1,
		},
		{
			name:   "trailing slash is not implied",
			routes: []RouteSpec{{Path: "/hello"}},
			method: "GET", path: "/hello/", wantErr: ErrNotFound,
		},
		{
			name:   "spec methods are case-insensitive",
			routes: []RouteSpec{{Path: "/a", Methods: []string{"post", "Get"}}},
			method: "GET", path: "/a", wantRoute: 0,
		},
		{
			name:   "request method is case-sensitive",
			routes: []RouteSpec{{Path: "/a", Methods: []string{"get"}}},
			method: "get", path: "/a", wantErr: ErrMethodNotAllowed, wantAllow: []string{"GET"},
		},
		{
			name:   "ANY accepts the seven methods",
			routes: []RouteSpec{{Path: "/a", Methods: []string{"ANY"}}},
			method: "PATCH", path: "/a", wantRoute: 0,
		},
		{
			name:   "no methods is ANY",
			routes: []RouteSpec{{Path: "/a"}},
			method: "DELETE", path: "/a", wantRoute: 0,
		},
		{
			name:   "ANY does not accept other methods",
			routes: []RouteSpec{{Path: "/a", Methods: []string{"any"}}},
			method: "TRACE", path: "/a", wantErr: ErrMethodNotAllowed,
			wantAllow: []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"},
		},
		{
			name:   "no implicit HEAD",
			routes: []RouteSpec{{Path: "/a", Methods: get}},
			method: "HEAD", path: "/a", wantErr: ErrMethodNotAllowed, wantAllow: []string{"GET"},
		},
		{
			name:   "not found",
			routes: []RouteSpec{{Path: "/a"}, {Path: "/b/{c}"}},
			method: "GET", path: "/b/c/d", wantErr: ErrNotFound,
		},
		{
			name:   "not found without routes",
			method: "GET", path: "/", wantErr: ErrNotFound,
		},
		{
			name:   "not found for a path not from CanonicalPath",
			routes: []RouteSpec{{Path: "/{all*}"}},
			method: "GET", path: "", wantErr: ErrNotFound,
		},
		{
			name: "405 with the union of the matching routes' methods",
			routes: []RouteSpec{
				{Path: "/a/{id}", Methods: []string{"put", "GET"}},
				{Path: "/a/b", Methods: []string{"POST"}},
				{Path: "/a/{p*}", Methods: []string{"DELETE", "GET"}},
				{Path: "/a/c", Methods: []string{"PATCH"}},
			},
			method: "OPTIONS", path: "/a/b", wantErr: ErrMethodNotAllowed,
			wantAllow: []string{"DELETE", "GET", "POST", "PUT"},
		},
		{
			name: "405 with ANY expanded",
			routes: []RouteSpec{
				{Path: "/a", Methods: []string{"GET"}},
				{Path: "/{x}", Methods: []string{"ANY"}},
			},
			method: "CONNECT", path: "/a", wantErr: ErrMethodNotAllowed,
			wantAllow: []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"},
		},
		{
			name: "method falls back to a less specific route",
			routes: []RouteSpec{
				{Path: "/users/{rest*}", Methods: []string{"DELETE"}},
				{Path: "/users/{id}", Methods: []string{"POST"}},
				{Path: "/users/me", Methods: get},
			},
			method: "POST", path: "/users/me", wantRoute: 1, wantParams: Params{{"id", "me"}},
		},
		{
			name: "method falls back to the wildcard",
			routes: []RouteSpec{
				{Path: "/users/{rest*}", Methods: []string{"DELETE"}},
				{Path: "/users/{id}", Methods: []string{"POST"}},
				{Path: "/users/me", Methods: get},
			},
			method: "DELETE", path: "/users/me", wantRoute: 0, wantParams: Params{{"rest", "me"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := Compile(tt.routes)
			if err != nil {
				t.Fatalf("Compile() error = %v", err)
			}
			got, err := table.Match(tt.method, tt.path)
			if tt.wantErr != nil {
				checkMatchError(t, got, err, tt.wantErr, tt.wantAllow)
				return
			}
			if err != nil {
				t.Fatalf("Match(%q, %q) error = %v; want route %d", tt.method, tt.path, err, tt.wantRoute)
			}
			if got.Route != tt.wantRoute || !slices.Equal(got.Params, tt.wantParams) {
				t.Errorf("Match(%q, %q) = %d %v; want %d %v", tt.method, tt.path, got.Route, got.Params, tt.wantRoute, tt.wantParams)
			}
			if cap(got.Params) != len(got.Params) {
				t.Errorf("cap(Params) = %d; want exactly len %d", cap(got.Params), len(got.Params))
			}
		})
	}
}

func checkMatchError(t *testing.T, got Match, err, want error, wantAllow []string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("Match() = %+v, %v; want error %v", got, err, want)
	}
	var notAllowed *MethodNotAllowedError
	isNotAllowed := errors.As(err, &notAllowed)
	if isNotAllowed != (want == ErrMethodNotAllowed) {
		t.Fatalf("Match() error %v is *MethodNotAllowedError: %t; want %t", err, isNotAllowed, !isNotAllowed)
	}
	if isNotAllowed && !slices.Equal(notAllowed.Allow, wantAllow) {
		t.Errorf("Allow = %q; want %q", notAllowed.Allow, wantAllow)
	}
}

func mustCanonical(t *testing.T, escaped string) string {
	t.Helper()
	path, err := CanonicalPath(escaped)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMethodNotAllowedErrorMessage(t *testing.T) {
	err := error(&MethodNotAllowedError{Allow: []string{"GET", "POST"}})
	if got, want := err.Error(), "method not allowed; allowed: GET, POST"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

func TestParamsGet(t *testing.T) {
	p := Params{{"a", "1"}, {"b", ""}}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"a", "1", true},
		{"b", "", true},
		{"c", "", false},
		{"A", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.Get(tt.name)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Get(%q) = %q, %t; want %q, %t", tt.name, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// fuzzRoutes is a fixed table for FuzzMatch with every kind of segment.
var fuzzRoutes = []RouteSpec{
	{Path: "/"},
	{Path: "/a/{x}"},
	{Path: "/a/{x}/{y}/", Methods: []string{"GET"}},
	{Path: "/a/b"},
	{Path: "/{x}/{y*}", Methods: []string{"POST"}},
	{Path: "/f/{p*}"},
	{Path: "/été/{p*}"},
}

func FuzzMatch(f *testing.F) {
	table, err := Compile(fuzzRoutes)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"/", "/a/b", "/a/%2e%2e", "/a/x%20y/z/", "/f", "/f/", "/f/a/b/", "/%C3%A9t%C3%A9/x", "/q/r/s",
		"/a/%3F%23", "//", "", "/a/..", "/f/%252e",
	} {
		f.Add("GET", seed)
		f.Add("POST", seed)
	}
	f.Fuzz(func(t *testing.T, method, escaped string) {
		path, err := CanonicalPath(escaped)
		if err != nil {
			table.Match(method, escaped) // must not panic on any input either
			return
		}
		m, err := table.Match(method, path)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrMethodNotAllowed) {
				t.Fatalf("Match(%q, %q) error = %v; want ErrNotFound or ErrMethodNotAllowed", method, path, err)
			}
			return
		}
		if m.Route < 0 || m.Route >= len(fuzzRoutes) {
			t.Fatalf("Match(%q, %q).Route = %d; out of range", method, path, m.Route)
		}
		// A value the gateway puts into a backend URL, escaped segment by
		// segment, must stay a path that CanonicalPath reads back the same.
		for _, p := range m.Params {
			rebuilt := "/" + escapePath(p.Value)
			if len(rebuilt) > maxPathLen {
				continue // refused for its length alone, see FuzzCanonicalPath
			}
			got, err := CanonicalPath(rebuilt)
			if err != nil || got != "/"+p.Value {
				t.Fatalf("param %s=%q: CanonicalPath(%q) = %q, %v; want %q, nil", p.Name, p.Value, rebuilt, got, err, "/"+p.Value)
			}
		}
	})
}
