package authz

import "testing"

func TestPolicyAllows(t *testing.T) {
	read := []string{"api:read"}
	tests := []struct {
		name   string
		policy Policy
		scopes []string
		want   bool
	}{
		{"authentication only, no scopes", Policy{}, nil, true},
		{"authentication only ignores allowed scopes", Policy{Kind: AuthenticationOnly, AllowedScopes: read}, nil, true},
		{"anonymous", Policy{Kind: Anonymous}, nil, true},
		{"any of, exact scope", Policy{Kind: AnyOf, AllowedScopes: read}, []string{"api:read"}, true},
		{"any of, one of several", Policy{Kind: AnyOf, AllowedScopes: []string{"a", "api:read"}}, []string{"x", "api:read", "y"}, true},
		{"any of, prefix is not a match", Policy{Kind: AnyOf, AllowedScopes: read}, []string{"api:readonly"}, false},
		{"any of, longer allowed scope", Policy{Kind: AnyOf, AllowedScopes: []string{"api:readonly"}}, []string{"api:read"}, false},
		{"any of, case-sensitive", Policy{Kind: AnyOf, AllowedScopes: read}, []string{"API:READ"}, false},
		{"any of, not split on spaces", Policy{Kind: AnyOf, AllowedScopes: read}, []string{"api:read api:write"}, false},
		{"any of, no scopes", Policy{Kind: AnyOf, AllowedScopes: read}, nil, false},
		{"any of, nothing allowed", Policy{Kind: AnyOf}, []string{"api:read"}, false},
		{"any of, empty scope grants nothing", Policy{Kind: AnyOf, AllowedScopes: []string{""}}, []string{""}, false},
		{"unknown kind fails closed", Policy{Kind: Kind(7)}, []string{"api:read"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Allows(tt.scopes); got != tt.want {
				t.Errorf("%v.Allows(%q) = %t; want %t", tt.policy, tt.scopes, got, tt.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		kind Kind
		want string
	}{
		{AuthenticationOnly, "AUTHENTICATION_ONLY"},
		{AnyOf, "ANY_OF"},
		{Anonymous, "ANONYMOUS"},
		{Kind(-1), "Kind(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.kind.String(); got != tt.want {
				t.Errorf("Kind(%d).String() = %q; want %q", int(tt.kind), got, tt.want)
			}
		})
	}
	var zero Policy
	if zero.Kind != AuthenticationOnly {
		t.Errorf("zero Policy.Kind = %v; want AUTHENTICATION_ONLY", zero.Kind)
	}
}
