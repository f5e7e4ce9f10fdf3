package config

import (
	"encoding/json"
	"slices"
)

// FunctionRef is one functionId a specification names.
type FunctionRef struct {
	// Path is the JSON path of the functionId inside the spec, e.g.
	// "routes[2].backend.functionId".
	Path string
	// ID is the functionId as written.
	ID string
}

// FunctionRefs lists every functionId s names, in document order: function
// backends (also inside dynamic routing), CUSTOM_AUTHENTICATION, and
// authentication servers of dynamicAuthentication. It reads the spec as
// JSON, so a policy that names a function is found whatever Go type holds
// it, and parts keygate keeps raw are searched too.
func (s *Spec) FunctionRefs() []FunctionRef {
	if s == nil {
		return nil
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil // a decoded spec always marshals
	}
	tree, err := parseTree(data)
	if err != nil {
		return nil
	}
	var refs []FunctionRef
	collectFunctionRefs("", tree, &refs)
	return refs
}

// FunctionIDs lists the distinct functionIds s names, sorted.
func (s *Spec) FunctionIDs() []string {
	var ids []string
	for _, r := range s.FunctionRefs() {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func collectFunctionRefs(path string, n *node, refs *[]FunctionRef) {
	switch n.kind {
	case kindArray:
		for i, e := range n.elems {
			collectFunctionRefs(idx(path, i), e, refs)
		}
	case kindObject:
		for _, m := range n.members {
			p := keyPath(path, m.key)
			if m.key == "functionId" && m.val.kind == kindString {
				*refs = append(*refs, FunctionRef{Path: p, ID: m.val.str})
				continue
			}
			collectFunctionRefs(p, m.val, refs)
		}
	}
}

// FindFunctionRefs lists the functionIds a specification text (JSON or
// YAML) names, without validating it, for reports on specs that may not
// load yet (keygate import).
func FindFunctionRefs(file string, data []byte) ([]FunctionRef, error) {
	js, _, err := toJSON(file, data)
	if err != nil {
		return nil, err
	}
	tree, err := parseTree(js)
	if err != nil {
		return nil, err
	}
	var refs []FunctionRef
	collectFunctionRefs("", tree, &refs)
	return refs, nil
}
