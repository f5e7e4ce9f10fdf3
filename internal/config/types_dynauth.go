package config

// Selection key types (DynamicSelectionKey "type").
const (
	SelectionKeyAnyOf    = "ANY_OF"
	SelectionKeyWildcard = "WILDCARD"
)

// DynamicAuthentication picks one of several authentication servers per
// request (DynamicAuthenticationPolicy).
type DynamicAuthentication struct {
	// SelectionSource says which request value picks the server. Required.
	SelectionSource *SelectionSource `json:"selectionSource"`
	// AuthenticationServers are the servers, 1 to 100. Required.
	AuthenticationServers []AuthenticationServer `json:"authenticationServers"`
}

// SelectionSource is a SINGLE selection source (SingleSelectionSourcePolicy).
type SelectionSource struct {
	// Type is SINGLE. Required.
	Type string `json:"type"`
	// Selector is one context variable, with or without ${}, e.g.
	// request.headers[X-Tenant]. Required.
	Selector string `json:"selector"`
}

// AuthenticationServer is one server of a dynamic authentication policy
// (AuthenticationServerPolicy).
type AuthenticationServer struct {
	// Key is when the server is picked. Required.
	Key *SelectionKey `json:"key"`
	// AuthenticationServerDetail is the server: any authentication
	// policy. Required.
	AuthenticationServerDetail *Authentication `json:"authenticationServerDetail"`
}

// SelectionKey is an ANY_OF or WILDCARD key (DynamicSelectionKey).
type SelectionKey struct {
	// Type is ANY_OF or WILDCARD. Required.
	Type string `json:"type"`
	// Name names the key, unique in the policy. Required.
	Name string `json:"name"`
	// Values are the selector values that pick the server, compared
	// case-insensitively (ANY_OF). Default nil.
	Values []string `json:"values,omitempty"`
	// Expression is a pattern with one '*' (zero or more characters) or
	// '+' (one or more) at its start or end, compared case-sensitively
	// (WILDCARD, required).
	Expression string `json:"expression,omitempty"`
	// IsDefault picks the server when no key matches; at most one. Default
	// false.
	IsDefault bool `json:"isDefault,omitempty"`
}

// Variable parses the selection source's selector, written bare
// (request.query[x]) or as ${request.query[x]}.
func (s *SelectionSource) Variable() (ContextVariable, error) {
	sel := s.Selector
	if len(sel) > 3 && sel[0] == '$' && sel[1] == '{' && sel[len(sel)-1] == '}' {
		sel = sel[2 : len(sel)-1]
	}
	return parseVariable(sel)
}

// routeAuthentication is what route authorization checks are held to
// under dynamic authentication: anonymous access if any server allows it.
func (d *DynamicAuthentication) routeAuthentication() *Authentication {
	a := &Authentication{Type: "DYNAMIC"}
	for _, s := range d.AuthenticationServers {
		if s.AuthenticationServerDetail != nil && s.AuthenticationServerDetail.IsAnonymousAccessAllowed {
			a.IsAnonymousAccessAllowed = true
		}
	}
	return a
}
