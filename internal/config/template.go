package config

import (
	"fmt"
	"strings"
)

// VarTable is the table a context variable reads from.
type VarTable uint8

// The context variable tables OCI documents.
const (
	// VarPath is ${request.path[name]}: a path parameter of the route.
	VarPath VarTable = iota + 1
	// VarQuery is ${request.query[name]}: a query parameter's first value.
	VarQuery
	// VarHeaders is ${request.headers[name]}: a request header's first value.
	VarHeaders
	// VarAuth is ${request.auth[name]}: a claim of the authenticated principal.
	VarAuth
	// VarHost is ${request.host}: the Host header without port, lower case.
	VarHost
	// VarSubdomain is ${request.subdomain[suffix]}: the host less a trailing
	// ".suffix", or "" when it does not end so.
	VarSubdomain
	// VarCert is ${request.cert[client_base64]}: the verified mTLS client
	// certificate, standard base64 of its DER.
	VarCert
	// VarBody is ${request.body}: only an authorizer's parameters may read it.
	VarBody
)

// varTables maps each table's name to its value and whether it takes a key.
var varTables = map[string]struct {
	table VarTable
	keyed bool
}{
	"request.path": {VarPath, true}, "request.query": {VarQuery, true}, "request.headers": {VarHeaders, true},
	"request.auth": {VarAuth, true}, "request.host": {VarHost, false}, "request.subdomain": {VarSubdomain, true},
	"request.cert": {VarCert, true}, "request.body": {VarBody, false},
}

// tableNames lists the tables for messages, in the order OCI documents them.
const tableNames = "request.path, request.query, request.headers, request.auth, request.host, request.subdomain, request.cert, request.body"

// ContextVariable is one ${request.<table>[<key>]} reference.
type ContextVariable struct {
	Table VarTable
	// Key is the name in brackets; "" for request.host and request.body.
	Key string
	// Member is the name in a second pair of brackets, a member of the
	// object Key names: OCI's ${request.auth[id_token_claims][email]} of
	// an OAUTH2 login. "" for none; only request.auth has one.
	Member string
}

// String writes the variable as a spec does.
func (v ContextVariable) String() string {
	for name, t := range varTables {
		if t.table == v.Table {
			if t.keyed && v.Member != "" {
				return "${" + name + "[" + v.Key + "][" + v.Member + "]}"
			}
			if t.keyed {
				return "${" + name + "[" + v.Key + "]}"
			}
			return "${" + name + "}"
		}
	}
	return "${?}"
}

// TemplatePart is a piece of a Template: literal text, or one variable.
type TemplatePart struct {
	Literal string
	// Var is the context variable; nil for literal text.
	Var *ContextVariable
}

// Template is a value that may hold context variables, parsed once by
// ParseTemplate: the one grammar of every place a spec allows them (backend
// URL paths, header and query transformations, failure responses). The
// gateway evaluates it per request.
type Template []TemplatePart

// Static reports whether t holds no variable.
func (t Template) Static() bool {
	for _, p := range t {
		if p.Var != nil {
			return false
		}
	}
	return true
}

// Variables returns t's variables in order.
func (t Template) Variables() []ContextVariable {
	var vs []ContextVariable
	for _, p := range t {
		if p.Var != nil {
			vs = append(vs, *p.Var)
		}
	}
	return vs
}

// ParseTemplate parses s: literal text with ${request.<table>[<key>]} (or
// ${request.host}, ${request.body}) references. What a place allows (a
// table, a declared path parameter, an authentication policy) is its
// caller's to check.
func ParseTemplate(s string) (Template, error) {
	var t Template
	for s != "" {
		i := strings.Index(s, "${")
		if i < 0 {
			t = append(t, TemplatePart{Literal: s})
			break
		}
		if i > 0 {
			t = append(t, TemplatePart{Literal: s[:i]})
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unterminated context variable %q; close it with '}'", s[i:])
		}
		v, err := parseVariable(s[i+2 : i+end])
		if err != nil {
			return nil, err
		}
		t = append(t, TemplatePart{Var: &v})
		s = s[i+end+1:]
	}
	return t, nil
}

// ParseBareVariable parses a value that is one context variable written
// without ${}, as OCI allows in a failure policy's responseCode
// ("request.auth[responseCode]"); ok is false when s is not one.
func ParseBareVariable(s string) (v ContextVariable, ok bool) {
	if !strings.HasPrefix(s, "request.") {
		return ContextVariable{}, false
	}
	v, err := parseVariable(s)
	return v, err == nil
}

// parseVariable parses the inside of ${...}.
func parseVariable(expr string) (ContextVariable, error) {
	name, rest, keyed := strings.Cut(expr, "[")
	t, known := varTables[name]
	switch {
	case !known:
		return ContextVariable{}, fmt.Errorf("context variable ${%s}: the table is not one of %s", expr, tableNames)
	case t.keyed && (!keyed || !strings.HasSuffix(rest, "]") || len(rest) < 2):
		return ContextVariable{}, fmt.Errorf("context variable ${%s} is not of the form ${%s[<name>]}", expr, name)
	case !t.keyed && keyed:
		return ContextVariable{}, fmt.Errorf("context variable ${%s}: %s takes no [name]; write ${%s}", expr, name, name)
	}
	v := ContextVariable{Table: t.table}
	if t.keyed {
		v.Key = rest[:len(rest)-1]
		if key, member, two := strings.Cut(v.Key, "]["); two && v.Table == VarAuth && key != "" && member != "" {
			v.Key, v.Member = key, member
		}
		if strings.ContainsAny(v.Key, "[]{}$") || strings.ContainsAny(v.Member, "[]{}$") {
			return ContextVariable{}, fmt.Errorf("context variable ${%s}: the name %q holds a bracket, brace or '$'", expr, v.Key)
		}
		if v.Table == VarCert && v.Key != "client_base64" {
			return ContextVariable{}, fmt.Errorf("context variable ${%s}: request.cert has only client_base64", expr)
		}
	}
	return v, nil
}
