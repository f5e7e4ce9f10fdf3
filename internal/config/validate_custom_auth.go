package config

import (
	"fmt"
	"slices"
	"strings"
)

// OCI's CUSTOM_AUTHENTICATION limits (apigatewaylimits.htm), kept by keygate.
const (
	maxAuthorizerParameters = 10
	maxAuthorizerCacheKey   = 10
)

// authorizerTables are what an authorizer's parameters may read
// (oci-policies.md §6): request.body only here.
var authorizerTables = []VarTable{VarQuery, VarHeaders, VarCert, VarHost, VarBody}

// customAuthentication validates a CUSTOM_AUTHENTICATION policy: the
// function, exactly one of the single-argument (tokenHeader,
// tokenQueryParam) and multi-argument (parameters) forms, the cache key and
// the failure policy. Whether functionId is in keygate config's functions
// registry is checked where the registry is known.
func (c *checker) customAuthentication(p string, a *Authentication) {
	if strings.TrimSpace(a.FunctionId) == "" {
		c.addf(at(p, "functionId"), "missing; give the authorizer function's OCID (or id) as listed in keygate config's functions")
	}
	switch {
	case len(a.Parameters) > 0 && (a.TokenHeader != "" || a.TokenQueryParam != ""):
		// OPEN: which contract the function expects would be ambiguous.
		name := "tokenHeader"
		if a.TokenHeader == "" {
			name = "tokenQueryParam"
		}
		c.addf(at(p, name), "set together with parameters; a multi-argument authorizer (parameters) gets USER_DEFINED data, a single-argument one (tokenHeader or tokenQueryParam) a TOKEN: keep one form")
	case a.Parameters != nil && len(a.Parameters) == 0:
		c.addf(at(p, "parameters"), "empty; give at most %d arguments, e.g. {\"xapikey\": \"request.headers[X-Api-Key]\"}, or use tokenHeader", maxAuthorizerParameters)
	case len(a.Parameters) > 0:
		c.authorizerParameters(at(p, "parameters"), a.Parameters)
	default:
		c.tokenLocation(p, a, "missing; set tokenHeader (e.g. Authorization) or tokenQueryParam for a single-argument authorizer, or parameters for a multi-argument one")
	}
	if a.CacheKey != nil {
		c.authorizerCacheKey(at(p, "cacheKey"), a.CacheKey, a.Parameters)
	}
	if a.ValidationFailurePolicy != nil {
		c.failurePolicy(at(p, "validationFailurePolicy"), a.ValidationFailurePolicy, nil)
	}
	if a.TokenAuthScheme != "" {
		c.addf(at(p, "tokenAuthScheme"), "CUSTOM_AUTHENTICATION has no tokenAuthScheme: the function gets the whole header value, scheme included; remove it")
	}
	if a.MaxClockSkewInSeconds != 0 {
		c.addf(at(p, "maxClockSkewInSeconds"), "only for JWT_AUTHENTICATION and TOKEN_AUTHENTICATION; the authorizer function checks times itself; remove it")
	}
	const other = "only for JWT_AUTHENTICATION or TOKEN_AUTHENTICATION; the authorizer function decides; remove it"
	c.unsetFields(p, other, []setField{
		{"issuers", a.Issuers != nil}, {"audiences", a.Audiences != nil}, {"publicKeys", a.PublicKeys != nil},
		{"verifyClaims", a.VerifyClaims != nil}, {"validationPolicy", a.ValidationPolicy != nil},
	})
}

// customOnlyFields reports CUSTOM_AUTHENTICATION members in a token
// policy.
func (c *checker) customOnlyFields(p string, a *Authentication) {
	const only = "only for CUSTOM_AUTHENTICATION; remove it or change type"
	if a.FunctionId != "" {
		c.addf(at(p, "functionId"), only)
	}
	if a.Parameters != nil {
		c.addf(at(p, "parameters"), only)
	}
	if a.CacheKey != nil {
		c.addf(at(p, "cacheKey"), only)
	}
}

// authorizerParameters checks a multi-argument authorizer's arguments, in
// name order so that problems come out in a stable order.
func (c *checker) authorizerParameters(p string, params map[string]string) {
	if len(params) > maxAuthorizerParameters {
		c.addf(p, "%d arguments; OCI allows at most %d; remove some", len(params), maxAuthorizerParameters)
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		kp := keyPath(p, name)
		if strings.TrimSpace(name) == "" {
			c.addf(kp, "empty argument name; name the argument the function reads in data, e.g. xapikey")
			continue
		}
		if _, err := ParseAuthorizerArgument(params[name]); err != nil {
			c.addf(kp, "%s", err)
		}
	}
}

// authorizerCacheKey checks cacheKey: names of parameters, each once.
func (c *checker) authorizerCacheKey(p string, cacheKey []string, params map[string]string) {
	if len(params) == 0 {
		c.addf(p, "only with parameters (a multi-argument authorizer); a single-argument authorizer's results are cached by the token; remove it")
		return
	}
	switch {
	case len(cacheKey) == 0:
		c.addf(p, "empty; list argument names of parameters, or remove cacheKey to key the cache by every argument")
	case len(cacheKey) > maxAuthorizerCacheKey:
		c.addf(p, "%d entries; OCI allows at most %d; remove some", len(cacheKey), maxAuthorizerCacheKey)
	}
	for i, name := range cacheKey {
		switch {
		case name == "":
			c.addf(idx(p, i), "empty; give an argument name of parameters or remove the entry")
		case slices.Index(cacheKey, name) < i:
			c.addf(idx(p, i), "%q is listed twice; remove one", name)
		default:
			if _, ok := params[name]; !ok {
				c.addf(idx(p, i), "%q is not an argument of parameters; use one of %s", name, strings.Join(sortedKeys(params), ", "))
			}
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ParseAuthorizerArgument parses the value of one CUSTOM_AUTHENTICATION
// parameter: one context expression written without ${}, as OCI writes it
// ("request.headers[X-Api-Key]"). request.header[...] is read as
// request.headers[...] (the OCI SDK's own example writes it so), and a bare
// request.cert as request.cert[client_base64]. Allowed tables:
// request.query, request.headers, request.cert, request.host, request.body.
func ParseAuthorizerArgument(s string) (ContextVariable, error) {
	expr := strings.TrimSpace(s)
	if inner, ok := strings.CutPrefix(expr, "${"); ok && strings.HasSuffix(inner, "}") {
		return ContextVariable{}, fmt.Errorf("%q: an authorizer argument is written without ${}; write %q", s, strings.TrimSuffix(inner, "}"))
	}
	if rest, ok := strings.CutPrefix(expr, "request.header["); ok {
		expr = "request.headers[" + rest
	}
	if expr == "request.cert" {
		expr = "request.cert[client_base64]"
	}
	if expr == "" || !strings.HasPrefix(expr, "request.") {
		return ContextVariable{}, fmt.Errorf("%q is not a context expression; give one of %s, e.g. request.headers[X-Api-Key]", s, tableList(authorizerTables))
	}
	v, err := parseVariable(expr)
	if err != nil {
		return ContextVariable{}, err
	}
	if !slices.Contains(authorizerTables, v.Table) {
		return ContextVariable{}, fmt.Errorf("%q: an authorizer argument reads one of %s", s, tableList(authorizerTables))
	}
	return v, nil
}
