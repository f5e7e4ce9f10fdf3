package oidc

import (
	"errors"
	"testing"
)

func TestClientAuthMethod(t *testing.T) {
	tests := []struct {
		name                 string
		introspection, token []string
		want                 string
		err                  error
	}{
		{"nothing advertised: basic (RFC 6749 default)", nil, nil, "client_secret_basic", nil},
		{"basic and post: basic", []string{"client_secret_post", "client_secret_basic"}, nil, "client_secret_basic", nil},
		{"post only", []string{"client_secret_post"}, nil, "client_secret_post", nil},
		{"token endpoint's list when introspection's is absent", nil, []string{"client_secret_post", "private_key_jwt"}, "client_secret_post", nil},
		{"introspection's list wins", []string{"client_secret_basic"}, []string{"client_secret_post"}, "client_secret_basic", nil},
		{"no secret method", []string{"private_key_jwt", "tls_client_auth"}, nil, "", ErrNoClientAuthMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clientAuthMethod(&Discovery{IntrospectionEndpointAuthMethodsSupported: tt.introspection,
				TokenEndpointAuthMethodsSupported: tt.token})
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
