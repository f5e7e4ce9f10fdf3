package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The strict walk compares the generic tree with the Go types field by
// field. encoding/json alone would accept "Routes" for "routes", ignore
// unknown fields and stop at the first wrong kind; this walk reports every
// such problem with its path, so json.Unmarshal only ever sees clean input.

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	statusTextType = reflect.TypeFor[StatusText]()
)

// variantTyped is implemented by unions whose known-but-unsupported variants
// carry fields keygate does not model; those fields are not "unknown".
type variantTyped interface {
	opaqueVariants() (discriminator string, values []string)
}

// routeOnly is implemented by the deployment's request policies: the
// policies OCI allows on a route only are named as misplaced there, not as
// unknown (oci-policies.md §0).
type routeOnly interface {
	routeOnlyPolicies() []string
}

// field is one JSON member of a struct type.
type field struct {
	name string
	typ  reflect.Type
}

// jsonFields lists t's JSON members, promoting embedded structs' members as
// encoding/json does.
func jsonFields(t reflect.Type) []field {
	var fields []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			fields = append(fields, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields = append(fields, field{name: name, typ: f.Type})
	}
	return fields
}

// strict reports every structural problem of n against t at path.
func (c *checker) strict(path string, n *node, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawMessageType:
		c.duplicates(path, n)
	case t == statusTextType:
		if n.kind != kindString && n.kind != kindNumber {
			c.wrongKind(path, n, "a string such as \"403\"")
		}
	case t.Kind() == reflect.String:
		c.expect(path, n, kindString, "a string")
	case t.Kind() == reflect.Bool:
		c.expect(path, n, kindBool, "true or false")
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		c.strictInt(path, n, t)
	case t.Kind() == reflect.Float64:
		if c.expect(path, n, kindNumber, "a number") {
			if _, err := strconv.ParseFloat(n.num.String(), 64); err != nil {
				c.addf(path, "number %s is out of range; give a smaller number", n.num)
			}
		}
	case t.Kind() == reflect.Slice:
		c.strictArray(path, n, t)
	case t.Kind() == reflect.Map:
		c.strictMap(path, n, t)
	case t.Kind() == reflect.Struct:
		if isOCIResource(t) && !c.resourceForm(path, n) {
			c.softProblems++
			return
		}
		c.strictObject(path, n, t)
	default:
		// Every field type of this package is listed above; reaching here is
		// a programming error, reported rather than panicking.
		c.addf(path, "internal error: no strict rule for Go type %s", t)
	}
}

func (c *checker) strictInt(path string, n *node, t reflect.Type) {
	if !c.expect(path, n, kindNumber, "a whole number") {
		return
	}
	text := n.num.String()
	if strings.ContainsAny(text, ".eE") {
		c.addf(path, "%s is not written as a whole number; write digits only, without fraction or exponent", text)
		return
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || reflect.New(t).Elem().OverflowInt(v) {
		c.addf(path, "number %s is out of range; give a smaller number", text)
	}
}

func (c *checker) strictArray(path string, n *node, t reflect.Type) {
	want := "an array"
	if t.Elem().Kind() == reflect.String {
		want = "an array of strings"
	}
	if !c.expect(path, n, kindArray, want) {
		return
	}
	for i, e := range n.elems {
		p := idx(path, i)
		if e.kind == kindNull {
			c.addf(p, "null is not allowed in a list; remove it")
			continue
		}
		c.strict(p, e, t.Elem())
	}
}

// strictMap checks an object whose keys are the user's (media types), each
// value against t's element type.
func (c *checker) strictMap(path string, n *node, t reflect.Type) {
	if !c.expect(path, n, kindObject, "an object") {
		return
	}
	last := n.lastMembers()
	for i, m := range n.members {
		p := keyPath(path, m.key)
		switch {
		case last[m.key] != i:
			c.duplicateKey(p)
		case m.val.kind == kindNull:
			c.addf(p, "null is not allowed as a value here; remove the entry")
		default:
			c.strict(p, m.val, t.Elem())
		}
	}
}

func (c *checker) strictObject(path string, n *node, t reflect.Type) {
	if !c.expect(path, n, kindObject, "an object") {
		return
	}
	fields := jsonFields(t)
	byName := make(map[string]reflect.Type, len(fields))
	for _, f := range fields {
		byName[f.name] = f.typ
	}
	opaque := isOpaqueVariant(n, t)
	last := n.lastMembers()
	for i, m := range n.members {
		p := keyPath(path, m.key)
		if last[m.key] != i {
			c.duplicateKey(p)
			continue
		}
		ft, ok := byName[m.key]
		switch {
		case !ok && opaque:
			c.duplicates(p, m.val)
		case !ok && isRouteOnly(t, m.key):
			c.softProblems++
			c.addf(p, "allowed on a route only; move it into the requestPolicies of each route that needs it")
		case !ok:
			c.unknownField(p, m.key, fields)
		case m.val.kind == kindNull:
			// null stands for an absent optional member.
		default:
			c.strict(p, m.val, ft)
		}
	}
}

// isRouteOnly reports whether key names a route policy and t is the
// deployment's request policies.
func isRouteOnly(t reflect.Type, key string) bool {
	v, ok := reflect.Zero(t).Interface().(routeOnly)
	return ok && slices.Contains(v.routeOnlyPolicies(), key)
}

// isOpaqueVariant reports whether n is a variant of the union t that keygate
// knows by name only. A repeated discriminator counts by its last value,
// the one decoded.
func isOpaqueVariant(n *node, t reflect.Type) bool {
	v, ok := reflect.Zero(t).Interface().(variantTyped)
	if !ok {
		return false
	}
	disc, values := v.opaqueVariants()
	i, ok := n.lastMembers()[disc]
	if !ok || n.members[i].val.kind != kindString {
		return false
	}
	return slices.Contains(values, n.members[i].val.str)
}

// docSpellings are names OCI's documentation writes where the API (the
// SDK model, which keygate follows) has another (oci-policies.md, general
// rules).
var docSpellings = map[string]string{"responseCacheStorage": "responseCacheStore"}

func (c *checker) unknownField(path, key string, fields []field) {
	if sdk, ok := docSpellings[key]; ok && slices.ContainsFunc(fields, func(f field) bool { return f.name == sdk }) {
		c.softProblems++
		c.addf(path, "unknown field; OCI's documentation spells it %s, the API's field is %q: rename it", key, sdk)
		return
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			c.softProblems++
			c.addf(path, "unknown field; did you mean %q? field names are case-sensitive", f.name)
			return
		}
	}
	c.softProblems++
	c.addf(path, "unknown field; check the spelling against the OCI API deployment specification")
}

// expect reports a kind mismatch and says whether n has the wanted kind.
func (c *checker) expect(path string, n *node, k kind, want string) bool {
	if n.kind == k {
		return true
	}
	c.wrongKind(path, n, want)
	return false
}

func (c *checker) wrongKind(path string, n *node, want string) {
	c.addf(path, "got %s; give %s", n.kind.article(), want)
}

// duplicates reports duplicate keys anywhere inside an opaque value.
func (c *checker) duplicates(path string, n *node) {
	switch n.kind {
	case kindArray:
		for i, e := range n.elems {
			c.duplicates(idx(path, i), e)
		}
	case kindObject:
		last := n.lastMembers()
		for i, m := range n.members {
			p := keyPath(path, m.key)
			if last[m.key] != i {
				c.duplicateKey(p)
				continue
			}
			c.duplicates(p, m.val)
		}
	}
}

// duplicateKey reports an object member whose key comes again later in the
// object. The last one is the one kept, as encoding/json, YAML and most
// JSON parsers keep it, so that the other problems of the same run are about
// the value a lenient reader would have used.
func (c *checker) duplicateKey(path string) {
	c.softProblems++
	c.addf(path, "duplicate key; keep only one (keygate reads the last)")
}
