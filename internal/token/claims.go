package token

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Header is what keygate reports of a token's JOSE header. A member of the
// wrong type (a numeric kid, say) comes out as "".
type Header struct {
	// KeyID is the "kid" member, the only way a token selects its key.
	KeyID string
	// Algorithm is the "alg" member. It is checked against the key's
	// algorithm; it never chooses how the signature is verified.
	Algorithm string
	// Type is the "typ" member, "" when absent.
	Type string
}

// Claims is a token's payload. Numbers are json.Number, so they keep the
// digits the issuer wrote; other values are string, bool, nil, []any and
// map[string]any as encoding/json decodes them. Names are case-sensitive:
// "EXP" is not "exp".
type Claims map[string]any

// Issuer returns the "iss" claim, or "" when it is absent or not a string.
func (c Claims) Issuer() string {
	s, _ := c["iss"].(string)
	return s
}

// Subject returns the "sub" claim, or "" when it is absent or not a string.
func (c Claims) Subject() string {
	s, _ := c["sub"].(string)
	return s
}

// Scopes returns the "scope" claim as a list: a string is split on spaces
// (RFC 6749 §3.3), an array must hold only strings. Empty scopes are
// dropped. Anything else, including an array holding a non-string, gives
// nil, so a malformed claim grants no scope.
func (c Claims) Scopes() []string {
	return c.appendScopes(nil)
}

// appendScopes appends Scopes to dst, or returns nil when there are none.
// Scopes of a string claim are slices of it.
func (c Claims) appendScopes(dst []string) []string {
	switch v := c["scope"].(type) {
	case string:
		for s := range strings.SplitSeq(v, " ") {
			if s != "" {
				dst = append(dst, s)
			}
		}
		if len(dst) == 0 {
			return nil
		}
		return dst
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil
			}
			if s != "" {
				dst = append(dst, s)
			}
		}
		if len(dst) == 0 {
			return nil
		}
		return dst
	}
	return nil
}

// Value returns claim name in the string form context variables such as
// ${request.auth[name]} use: a string as is, a number as written, a bool as
// "true" or "false", an array or object as compact JSON (object members
// sorted by name). ok is false, and the value "", when the claim is absent
// or null.
func (c Claims) Value(name string) (value string, ok bool) {
	v, present := c[name]
	if !present || v == nil {
		return "", false
	}
	return stringForm(v), true
}

// stringForm is the string form of one claim value; see Claims.Value.
func stringForm(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Claim values go to backends in URLs and headers, not into HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}
