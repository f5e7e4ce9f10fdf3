package config

import (
	"path/filepath"
	"reflect"
	"strings"
)

// An OCI resource in keygate's config (a usage plan, a subscriber) is
// accepted in the forms the `oci` CLI and OCI's API print it: the get
// command's {"data": {...}, "etag": "..."} or the bare resource, with the
// CLI's kebab-case member names (display-name) or the API's camelCase
// (displayName). resourceForm rewrites such a value, before the strict walk,
// into the bare camelCase resource the Go types describe; problems are then
// reported at the camelCase paths.

// ociResource is implemented by the types that are OCI resources.
type ociResource interface{ ociResource() }

var ociResourceType = reflect.TypeFor[ociResource]()

// isOCIResource reports whether t (a struct type) is an OCI resource.
func isOCIResource(t reflect.Type) bool { return t.Implements(ociResourceType) }

// resourceForm rewrites n, a resource at path, in place; it reports a
// problem and false when n is the output of a list command, or names a
// file that does not load.
func (c *checker) resourceForm(path string, n *node) bool {
	if n.kind != kindObject {
		return true
	}
	if len(n.members) == 1 && n.members[0].key == "file" && n.members[0].val.kind == kindString {
		if !c.resourceFile(path, n) {
			return false
		}
	}
	if data, ok := wrapped(n); ok {
		*n = *data
		c.rewritten = true
	}
	for _, m := range n.members {
		if m.key == "items" && m.val.kind == kindArray {
			c.addf(keyPath(path, "items"), "this is the output of a list command; give each item as its own entry, or better the output of `oci api-gateway usage-plan get` / `subscriber get`, which prints every field")
			return false
		}
	}
	if camelMembers(n) {
		c.rewritten = true
	}
	return true
}

// resourceFile replaces n, {"file": NAME}, with the resource the file
// holds (JSON or YAML, e.g. the output of `oci api-gateway usage-plan get`
// saved as it is), NAME relative to the gateway file. Problems inside it
// are reported at the entry's path, as if it had been pasted there.
func (c *checker) resourceFile(path string, n *node) bool {
	name := n.members[0].val.str
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(c.file), file)
	}
	if c.unloaded == nil {
		c.unloaded = map[string]bool{}
	}
	data, err := readFile(file)
	if err != nil {
		c.addf(at(path, "file"), "%s", readMessage(name, err))
		c.unloaded[path] = true
		return false
	}
	js, _, err := toJSON(file, data)
	var tree *node
	if err == nil {
		tree, err = parseTree(js)
	}
	if err != nil {
		c.addf(at(path, "file"), "%s: %s", name, err)
		c.unloaded[path] = true
		return false
	}
	*n = *tree
	c.rewritten = true
	c.resourceFiles = append(c.resourceFiles, file)
	return true
}

// wrapped returns the resource inside an `oci ... get` answer: an object
// whose members are data (an object) and etag, opc-request-id or
// opc-next-page only.
func wrapped(n *node) (*node, bool) {
	var data *node
	for _, m := range n.members {
		switch m.key {
		case "data":
			if m.val.kind != kindObject {
				return nil, false
			}
			data = m.val
		case "etag", "opc-request-id", "opcRequestId", "opc-next-page":
		default:
			return nil, false
		}
	}
	return data, data != nil
}

// camelMembers renames kebab-case member names to camelCase in n and
// below, leaving the tags' own keys alone; it reports whether any changed.
func camelMembers(n *node) bool {
	changed := false
	switch n.kind {
	case kindArray:
		for _, e := range n.elems {
			changed = camelMembers(e) || changed
		}
	case kindObject:
		for i := range n.members {
			m := &n.members[i]
			if strings.Contains(m.key, "-") {
				m.key = kebabToCamel(m.key)
				changed = true
			}
			switch m.key {
			case "freeformTags", "definedTags", "systemTags":
				continue
			}
			changed = camelMembers(m.val) || changed
		}
	}
	return changed
}

// kebabToCamel turns display-name into displayName.
func kebabToCamel(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		if p := parts[i]; p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}
