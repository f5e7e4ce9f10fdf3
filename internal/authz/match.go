package authz

import (
	"errors"
	"strings"
)

// ErrNotFound is returned by Table.Match when no route's path matches.
var ErrNotFound = errors.New("no route matches the path")

// ErrMethodNotAllowed is matched by errors.Is for a *MethodNotAllowedError.
var ErrMethodNotAllowed = errors.New("method not allowed")

// MethodNotAllowedError is returned by Table.Match when routes match the
// path but none of them accepts the method.
type MethodNotAllowedError struct {
	// Allow is the union of the methods of the routes that match the path,
	// in upper case and sorted, ready for an Allow header.
	Allow []string
}

// Error names the methods the path accepts.
func (e *MethodNotAllowedError) Error() string {
	return "method not allowed; allowed: " + strings.Join(e.Allow, ", ")
}

// Is makes errors.Is(err, ErrMethodNotAllowed) hold.
func (e *MethodNotAllowedError) Is(target error) bool { return target == ErrMethodNotAllowed }

// Match is the route a request goes to.
type Match struct {
	// Route is the index of the route in the specs given to Compile.
	Route int
	// Params holds the route's parameters in path order, nil if it has none.
	Params Params
}

// Param is one path parameter and its decoded value.
type Param struct {
	// Name is the parameter's name as written in the route, without '*'.
	Name string
	// Value is the decoded segment of a {name} parameter, or for {name*}
	// the decoded rest of the path joined with '/' ("" for no segment).
	Value string
}

// Params are the path parameters of a match.
type Params []Param

// Get returns the value of the parameter called name.
func (p Params) Get(name string) (string, bool) {
	for _, param := range p {
		if param.Name == name {
			return param.Value, true
		}
	}
	return "", false
}

// Match finds the route for a request. path is the output of CanonicalPath
// relative to the deployment's prefix ("/" for the prefix itself); method is
// the request method, case-sensitive as HTTP methods are.
//
// Among the routes whose path matches and whose methods include method, the
// most specific wins. It returns ErrNotFound if no route's path matches, and
// a *MethodNotAllowedError if some do but none accepts method. Match
// allocates nothing but the returned Params and the 405 error.
func (t *Table) Match(method, path string) (Match, error) {
	if path == "" || path[0] != '/' {
		return Match{}, ErrNotFound
	}
	want := requestMethod(method)
	nsegs := strings.Count(path, "/")
	first, _, _ := strings.Cut(path[1:], "/")
	var allow methodSet
	for i := range t.routes {
		r := &t.routes[i]
		// Most routes differ in their first literal; comparing it first
		// keeps the scan of the 50 routes OCI allows short.
		if len(r.segs) > 0 && r.segs[0].kind == segLiteral && r.segs[0].text != first {
			continue
		}
		if !r.matches(path, nsegs) {
			continue
		}
		if r.methods&want == 0 {
			allow |= r.methods
			continue
		}
		return Match{Route: r.index, Params: r.extract(path)}, nil
	}
	if allow != 0 {
		return Match{}, &MethodNotAllowedError{Allow: allow.names()}
	}
	return Match{}, ErrNotFound
}

// matches reports whether the route's pattern matches path, which has nsegs
// segments.
func (r *route) matches(path string, nsegs int) bool {
	if r.wildcard {
		if nsegs < len(r.segs)-1 {
			return false
		}
	} else if nsegs != len(r.segs) {
		return false
	}
	rest := path[1:]
	for _, s := range r.segs {
		if s.kind == segWildcard {
			return true
		}
		seg, tail, _ := strings.Cut(rest, "/")
		switch {
		case s.kind == segLiteral && seg != s.text:
			return false
		case s.kind == segParam && seg == "":
			return false
		}
		rest = tail
	}
	return true
}

// extract returns the parameters of a path the route matches, in one
// allocation of exactly their number.
func (r *route) extract(path string) Params {
	if r.params == 0 {
		return nil
	}
	params := make(Params, 0, r.params)
	rest := path[1:]
	for _, s := range r.segs {
		if s.kind == segWildcard {
			// With no segment left rest is "", whether the path ended in
			// "/files" or "/files/".
			return append(params, Param{Name: s.text, Value: rest})
		}
		seg, tail, _ := strings.Cut(rest, "/")
		if s.kind == segParam {
			params = append(params, Param{Name: s.text, Value: seg})
		}
		rest = tail
	}
	return params
}
