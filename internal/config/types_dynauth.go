package config

// DynamicAuthentication picks one of several authentication servers per
// request (DynamicAuthenticationPolicy).
type DynamicAuthentication struct {
	// SelectionSource says which request value picks the server. Required.
	SelectionSource *SelectionSource `json:"selectionSource"`
	// AuthenticationServers are the servers, 1 to 100. Required.
	AuthenticationServers []AuthenticationServer `json:"authenticationServers"`
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
