package config

import (
	"fmt"
	"slices"
	"strings"
)

// OCI documents no limit on the headers, parameters or media types of a
// validation policy, so keygate keeps none.

// headerValidations validates a route's headerValidations at p.
func (c *checker) headerValidations(p string, hv *HeaderValidations) {
	c.validationMode(at(p, "validationMode"), hv.ValidationMode)
	c.validationItems(p, "headers", hv.Headers, "header", "X-Request-Id")
}

// queryParameterValidations validates a route's queryParameterValidations
// at p.
func (c *checker) queryParameterValidations(p string, qv *QueryParameterValidations) {
	c.validationMode(at(p, "validationMode"), qv.ValidationMode)
	c.validationItems(p, "parameters", qv.Parameters, "query parameter", "page")
}

// validationMode checks a validationMode; "" is the default, ENFORCING.
func (c *checker) validationMode(p, mode string) {
	if mode == "" {
		return
	}
	switch strings.ToUpper(mode) {
	case ValidationEnforcing, ValidationPermissive, ValidationDisabled:
	default:
		c.addf(p, "%q is not a validation mode; use ENFORCING (refuse), PERMISSIVE (log and let through) or DISABLED", mode)
	}
}

// validationItems checks the names of the header or query parameter list
// p.list: each once, case ignored; a header name a token, a query
// parameter name anything a query can carry.
func (c *checker) validationItems(p, list string, items []ValidationItem, what, example string) {
	seen := make(map[string]int, len(items))
	for i, item := range items {
		np := at(idx(at(p, list), i), "name")
		switch {
		case item.Name == "":
			c.addf(np, "missing; give the %s's name, e.g. %s", what, example)
			continue
		case what == "header" && !isToken(item.Name):
			c.addf(np, "%q is not a %s name; write a name such as %s (letters, digits and !#$%%&'*+-.^_`|~, no spaces)", item.Name, what, example)
			continue
		case what != "header" && strings.ContainsAny(item.Name, "&=# "):
			// Query names are not tokens: filter[name] is a common one.
			c.addf(np, "%q holds '&', '=', '#' or a space, which a query parameter name cannot; write it as the client sends it decoded, e.g. %s", item.Name, example)
			continue
		}
		folded := strings.ToLower(item.Name)
		if j, dup := seen[folded]; dup {
			c.addf(np, "%q repeats %s %q (%s names are not case-sensitive); keep one of them", item.Name, idx(list, j), items[j].Name, what)
			continue
		}
		seen[folded] = i
	}
}

// bodyValidation validates a route's bodyValidation at p.
func (c *checker) bodyValidation(p string, bv *BodyValidation) {
	c.validationMode(at(p, "validationMode"), bv.ValidationMode)
	cp := at(p, "content")
	switch {
	case bv.Content == nil:
		c.addf(cp, `missing; map each media type the route accepts to {"validationType": "NONE"}, e.g. "application/json"`)
		return
	case len(bv.Content) == 0:
		c.addf(cp, `empty; map each media type the route accepts to {"validationType": "NONE"}, e.g. "application/json"`)
		return
	}
	// A map has no order: the keys are checked sorted, so problems come out
	// the same on every run.
	keys := make([]string, 0, len(bv.Content))
	for k := range bv.Content {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		kp := keyPath(cp, k)
		if msg := mediaRangeProblem(k); msg != "" {
			c.addf(kp, "%s", msg)
		} else if first, dup := seen[strings.ToLower(k)]; dup {
			c.addf(kp, "%q repeats the media range %q (media types are not case-sensitive); keep one of them", k, first)
		} else {
			seen[strings.ToLower(k)] = k
		}
		switch vt := bv.Content[k].ValidationType; {
		case vt == "":
			c.addf(at(kp, "validationType"), `missing; give "NONE" (the body's media type is checked, not its content)`)
		case !strings.EqualFold(vt, ContentValidationNone):
			c.addf(at(kp, "validationType"), `%q is not a validation type; use "NONE", the only one OCI has (the body's media type is checked, not its content)`, vt)
		}
	}
}

// mediaRangeProblem says what is wrong with a content key, "" when it is a
// media range of the form */*, type/* or type/subtype.
func mediaRangeProblem(key string) string {
	const forms = `write type/subtype (application/json), type/* (text/*) or */*`
	if i := strings.IndexByte(key, ';'); i >= 0 {
		bare := strings.TrimSpace(key[:i])
		return fmt.Sprintf("%q has parameters, which are not compared; write %q", key, bare)
	}
	typ, sub, ok := strings.Cut(key, "/")
	switch {
	case !ok || !isToken(typ) || !isToken(sub):
		return fmt.Sprintf("%q is not a media range; %s", key, forms)
	case typ == "*" && sub != "*":
		return fmt.Sprintf("%q is not a media range (a wildcard type needs a wildcard subtype); %s", key, forms)
	case typ != "*" && strings.Contains(typ, "*"), sub != "*" && strings.Contains(sub, "*"):
		return fmt.Sprintf("%q is not a media range ('*' stands for a whole type or subtype); %s", key, forms)
	}
	return ""
}
