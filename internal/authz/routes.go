package authz

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// RouteSpec is one route of an OCI deployment specification as written.
type RouteSpec struct {
	// Path is the route path relative to the deployment's prefix, such as
	// "/hello/{name}" or "/files/{path*}". It must start with "/".
	Path string
	// Methods lists the methods the route accepts, in any case: ANY, HEAD,
	// GET, POST, PUT, PATCH, DELETE, OPTIONS. Nil or empty means ANY.
	Methods []string
}

// Table is a compiled, read-only set of routes; it is safe for concurrent
// use by any number of requests.
type Table struct {
	// routes holds the routes most specific first, so that the first one
	// that matches the path and accepts the method is the answer.
	routes []route
}

type route struct {
	index    int // into the specs given to Compile
	segs     []segment
	methods  methodSet
	params   int  // number of {name} and {name*} segments
	wildcard bool // the last segment is {name*}
}

type segKind uint8

// The order of the kinds is their precedence: a literal wins over a
// parameter, which wins over a wildcard.
const (
	segLiteral segKind = iota
	segParam
	segWildcard
)

type segment struct {
	kind segKind
	text string // the literal, or the parameter's name without '*'
}

// Compile checks routes and compiles them into a Table. It reports every
// problem at once (errors.Join), each prefixed with its place in the spec,
// "routes[i].path: " or "routes[i].methods[j]: ", and saying how to fix it.
// Its errors are *SpecError values, joined: each names the JSON path of
// the value it concerns.
func Compile(routes []RouteSpec) (*Table, error) {
	t := &Table{routes: make([]route, 0, len(routes))}
	var errs []error
	for i, spec := range routes {
		segs, perr := parsePattern(spec.Path)
		for _, err := range perr {
			errs = append(errs, &SpecError{Path: fmt.Sprintf("routes[%d].path", i), Err: err})
		}
		methods, merr := parseMethods(i, spec.Methods)
		errs = append(errs, merr...)
		r := route{index: i, segs: segs, methods: methods}
		for _, s := range segs {
			if s.kind != segLiteral {
				r.params++
			}
			r.wildcard = s.kind == segWildcard
		}
		t.routes = append(t.routes, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// A stable sort keeps the array order among equally specific routes,
	// which is how a tie goes to the first.
	slices.SortStableFunc(t.routes, compareSpecificity)
	return t, nil
}

// SpecError is a problem with one value of the routes given to Compile.
type SpecError struct {
	// Path is the value's JSON path in the spec, e.g. "routes[2].path".
	Path string
	// Err says what is wrong and how to fix it.
	Err error
}

func (e *SpecError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *SpecError) Unwrap() error { return e.Err }

// compareSpecificity orders routes most specific first, segment by segment.
// Two routes matching the same path differ in length only where one has a
// wildcard matching no segment; the one that ended is the more specific.
func compareSpecificity(a, b route) int {
	for i := 0; i < len(a.segs) || i < len(b.segs); i++ {
		if i == len(a.segs) {
			return -1
		}
		if i == len(b.segs) {
			return 1
		}
		if c := cmp.Compare(a.segs[i].kind, b.segs[i].kind); c != 0 {
			return c
		}
	}
	return 0
}

func parseMethods(i int, names []string) (methodSet, []error) {
	if len(names) == 0 {
		return methodsAny, nil
	}
	var set methodSet
	var errs []error
	for j, name := range names {
		m, ok := specMethod(name)
		if !ok {
			errs = append(errs, &SpecError{Path: fmt.Sprintf("routes[%d].methods[%d]", i, j),
				Err: fmt.Errorf("%q is not a method; use one of ANY, HEAD, GET, POST, PUT, PATCH, DELETE, OPTIONS", name)})
		}
		set |= m
	}
	return set, errs
}

// parsePattern splits a route path into segments and returns every problem
// it has. A trailing '/' leaves an empty literal last segment, so "/hello/"
// matches "/hello/" and not "/hello".
func parsePattern(path string) ([]segment, []error) {
	if path == "" {
		return nil, []error{errors.New(`is empty; write a path that starts with "/", such as "/hello"`)}
	}
	if path[0] != '/' {
		return nil, []error{fmt.Errorf(`%q does not start with "/"; write "/%s"`, path, path)}
	}
	raw := strings.Split(path[1:], "/")
	segs := make([]segment, 0, len(raw))
	var errs []error
	emptyReported := false
	for k, text := range raw {
		if text == "" && k < len(raw)-1 {
			if !emptyReported {
				errs = append(errs, fmt.Errorf(`%q has an empty segment ("//"); remove the extra "/"`, path))
				emptyReported = true
			}
			continue
		}
		seg, err := parseSegment(text, k == len(raw)-1)
		if err == nil && seg.kind != segLiteral && slices.ContainsFunc(segs, func(s segment) bool {
			return s.kind != segLiteral && s.text == seg.text
		}) {
			err = fmt.Errorf("segment %q: parameter name %q is already used in this path; rename one of them", text, seg.text)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		segs = append(segs, seg)
	}
	return segs, errs
}

// parseSegment parses one non-empty segment of a route path, or the empty
// last one of a path ending in '/'.
func parseSegment(text string, last bool) (segment, error) {
	if text == "." || text == ".." {
		return segment{}, fmt.Errorf("segment %q is a dot segment, which no request path can hold; remove it", text)
	}
	if len(text) < 2 || text[0] != '{' || text[len(text)-1] != '}' {
		literal, err := parseLiteral(text)
		return segment{kind: segLiteral, text: literal}, err
	}
	name, wildcard := strings.CutSuffix(text[1:len(text)-1], "*")
	if !validName(name) {
		return segment{}, fmt.Errorf(`segment %q: parameter name %q is invalid; use one or more letters, digits or "_"`, text, name)
	}
	if !wildcard {
		return segment{kind: segParam, text: name}, nil
	}
	if !last {
		return segment{}, fmt.Errorf("segment %q: a wildcard parameter must be the last segment; move it to the end of the path or write {%s}", text, name)
	}
	return segment{kind: segWildcard, text: name}, nil
}

// parseLiteral returns a literal segment as it is matched: in the decoded
// form CanonicalPath gives a request, so that a segment matches exactly the
// request segments whose canonical form is byte-equal to it. OCI allows
// $ - _ . + ! * ' ( ) , % ; : @ & = in route paths; all but ';' stand for
// themselves, and a %XX escape stands for its byte ("/caf%C3%A9" is
// "/café", and matches "/caf%c3%a9" and "/café" alike). It refuses what no
// canonical request path can equal, since such a route would silently never
// match: ';' (refused in every request, raw or escaped, because Tomcat and
// Spring read "..;/" as "../": attack R3), '\' and control bytes, and
// escapes of the bytes CanonicalPath refuses escaped ('/', '\', '%', ';',
// control bytes). '.' is the exception: "%2E" is refused in a request, but
// in a route it is only another spelling of the '.' a request carries as
// it is.
func parseLiteral(text string) (string, error) {
	escapes := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '{' || c == '}':
			return "", fmt.Errorf("segment %q mixes text and braces; a parameter is a whole segment, {name} or {name*}", text)
		case c == '%':
			if err := checkLiteralEscape(text, i); err != nil {
				return "", err
			}
			escapes++
			i += 2
		case c == '\\' || c == ';' || c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("segment %q contains %q, which a request path never holds; remove it", text, c)
		}
	}
	literal := text
	if escapes > 0 {
		literal = unescape(text, escapes)
		if literal == "." || literal == ".." {
			return "", fmt.Errorf("segment %q decodes to %q, a dot segment, which no request path can hold; remove it", text, literal)
		}
	}
	if !utf8.ValidString(literal) {
		return "", fmt.Errorf("segment %q is not valid UTF-8; fix the encoding of the specification", text)
	}
	return literal, nil
}

// checkLiteralEscape checks the escape at text[i] ('%') of a route literal.
func checkLiteralEscape(text string, i int) error {
	if i+2 >= len(text) || !isHex(text[i+1]) || !isHex(text[i+2]) {
		return fmt.Errorf(`segment %q has a '%%' that starts no %%XX escape; keygate refuses "%%25" in requests (attack R3), so a literal '%%' can never match: remove it`, text)
	}
	b := unhex(text[i+1])<<4 | unhex(text[i+2])
	switch {
	case b == '/':
		return fmt.Errorf(`segment %q holds %s, an encoded '/', which keygate refuses in every request path (attack R3); write "/" to split the segment, or remove it`, text, text[i:i+3])
	case b != '.' && decodedRefused(b):
		return fmt.Errorf("segment %q holds %s, an encoded %q, which keygate refuses in every request path (attack R3), so no request could match; remove it", text, text[i:i+3], b)
	}
	return nil
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
