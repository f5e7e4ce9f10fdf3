package authz

import "strconv"

// Kind is the type of a route's authorization policy.
type Kind int

const (
	// AuthenticationOnly lets through any caller with a valid token. It is
	// the zero value because it is OCI's default when a route sets no
	// authorization.
	AuthenticationOnly Kind = iota
	// AnyOf lets through a valid token holding at least one allowed scope.
	AnyOf
	// Anonymous lets everyone through.
	Anonymous
)

// String returns the OCI spelling of k, such as "ANY_OF".
func (k Kind) String() string {
	switch k {
	case AuthenticationOnly:
		return "AUTHENTICATION_ONLY"
	case AnyOf:
		return "ANY_OF"
	case Anonymous:
		return "ANONYMOUS"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Policy is a route's authorization policy.
type Policy struct {
	// Kind is the type of policy; the default is AuthenticationOnly.
	Kind Kind
	// AllowedScopes are the scopes of which an AnyOf token needs one; the
	// default, none, lets no token through. Other kinds ignore it.
	AllowedScopes []string
}

// Allows reports whether a caller whose valid token holds scopes may use
// the route. Scopes compare as whole words and case-sensitively, so
// "api:read" does not grant "api:readonly" or "API:READ"; an empty scope
// grants nothing. Authentication is checked elsewhere: for
// AuthenticationOnly and Anonymous Allows is true, and for a Kind it does
// not know it is false.
func (p Policy) Allows(scopes []string) bool {
	switch p.Kind {
	case AuthenticationOnly, Anonymous:
		return true
	case AnyOf:
		for _, have := range scopes {
			if have == "" {
				continue
			}
			for _, want := range p.AllowedScopes {
				if have == want {
					return true
				}
			}
		}
	}
	return false
}
