package ociimport

import "strings"

// The oci CLI prints a model by taking each attribute's Python name and
// replacing "_" with "-" (oci_cli.cli_util.to_dict); plain maps keep their
// keys. The Python names are the OCI API's JSON names in snake_case, so
// camelCasing the CLI's key gives the JSON name back, acronyms included
// (is-ssl-verify-disabled, mutual-tls, token-query-param, allowed-sans).
// Checked against every attribute map of the SDK's apigateway models, the
// exceptions are the two below.

// sdkNames are the kebab-case keys whose JSON name is not their camelCase.
var sdkNames = map[string]string{
	// JsonWebKey's "key_ops" is RFC 7517's member name, snake_case on the
	// wire too; the CLI prints it as key-ops.
	"key-ops": "key_ops",
}

// userKeyed are the fields (by JSON name) whose value is a map keyed by
// the user's own names: media types in bodyValidation.content, parameter
// names in an authorizer's parameters. The keys are data and stay as they
// are; the values are models (content) or strings, converted as usual.
var userKeyed = map[string]bool{
	"content":    true,
	"parameters": true,
}

// verbatim are the fields whose whole value is the user's data (tag
// namespaces, tag keys and values): nothing in them is converted.
var verbatim = map[string]bool{
	"freeformTags": true,
	"definedTags":  true,
	"systemTags":   true,
}

// Stats counts what a conversion changed.
type Stats struct {
	// Converted is the number of keys renamed from kebab-case to the OCI
	// API's JSON name.
	Converted int
	// Unset is the number of members left out as unset: null ones (the oci
	// CLI prints every unset field as null, which OCI reads as absent) and
	// objects that held nothing else ("response-policies": {"header-
	// transformations": null}).
	Unset int
}

// CamelKeys returns a copy of v (a decoded document: nil, bool,
// json.Number, string, []any or *Object) with every object key the oci CLI
// writes in kebab-case renamed to the OCI API's JSON name, and unset
// members (see Stats.Unset) left out. Values are never changed: header names, URLs, claim
// values and ${request.headers[x-y]} templates stay exactly as they are, and
// so do keys that are the user's own (see userKeyed and verbatim) and keys
// already in camelCase, so a camelCase spec comes back unchanged. Nulls in
// arrays stay for the loader to report.
func CamelKeys(v any) (any, Stats) {
	var st Stats
	return camelKeys(v, &st), st
}

func camelKeys(v any, st *Stats) any {
	switch t := v.(type) {
	case *Object:
		out := &Object{Members: make([]Member, 0, len(t.Members))}
		for _, m := range t.Members {
			if m.Value == nil || onlyNulls(m.Value) {
				st.Unset++
				continue
			}
			key, renamed := JSONName(m.Key)
			if renamed {
				st.Converted++
			}
			var value any
			switch {
			case verbatim[key]:
				value = m.Value
			case userKeyed[key]:
				value = keepKeys(m.Value, st)
			default:
				value = camelKeys(m.Value, st)
			}
			out.Members = append(out.Members, Member{Key: key, Value: value})
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = camelKeys(e, st)
		}
		return out
	}
	return v
}

// keepKeys converts a user-keyed map: its keys stay, its values convert.
func keepKeys(v any, st *Stats) any {
	o, ok := v.(*Object)
	if !ok {
		return camelKeys(v, st) // not a map: the loader will say so
	}
	out := &Object{Members: make([]Member, 0, len(o.Members))}
	for _, m := range o.Members {
		if m.Value == nil || onlyNulls(m.Value) {
			st.Unset++
			continue
		}
		out.Members = append(out.Members, Member{Key: m.Key, Value: camelKeys(m.Value, st)})
	}
	return out
}

// onlyNulls reports whether v is an object with members, all of them null
// or such objects: the CLI's rendering of a policy with nothing set. An
// empty object the user wrote stays.
func onlyNulls(v any) bool {
	o, ok := v.(*Object)
	if !ok || len(o.Members) == 0 {
		return false
	}
	for _, m := range o.Members {
		if m.Value != nil && !onlyNulls(m.Value) {
			return false
		}
	}
	return true
}

// JSONName returns the OCI API's JSON name for key as the oci CLI prints
// it ("is-ssl-verify-disabled" is "isSslVerifyDisabled", "-from" is
// "from"), and whether that differs from key. Only keys spelled the CLI's
// way (lower case letters and digits, words joined by "-") are renamed:
// anything else, camelCase included, is returned as it is.
func JSONName(key string) (string, bool) {
	if name, ok := sdkNames[key]; ok {
		return name, true
	}
	if !isKebab(key) {
		return key, false
	}
	// A leading "-" is the CLI's spelling of the SDK's "_" before a Python
	// keyword: the attribute _from is the JSON name "from".
	words := strings.Split(strings.TrimPrefix(key, "-"), "-")
	var b strings.Builder
	b.WriteString(words[0])
	for _, w := range words[1:] {
		b.WriteString(strings.ToUpper(w[:1]))
		b.WriteString(w[1:])
	}
	return b.String(), true
}

// isKebab reports whether key is written the way the oci CLI writes a
// multi-word attribute: "-"? word ("-" word)*, words of [a-z0-9] starting
// with a letter, at least one "-".
func isKebab(key string) bool {
	rest := strings.TrimPrefix(key, "-")
	if !strings.Contains(key, "-") || rest == "" {
		return false
	}
	for _, w := range strings.Split(rest, "-") {
		if w == "" || w[0] < 'a' || w[0] > 'z' {
			return false
		}
		for i := 1; i < len(w); i++ {
			if c := w[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}
