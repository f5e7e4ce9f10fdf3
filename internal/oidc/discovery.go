// Package oidc speaks to an OpenID provider for keygate: its discovery
// document (fetched, refreshed, kept on error) and token introspection
// (RFC 7662) with a confidential client's credentials. It never logs a
// token or a secret; it hands out its own types.
package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// WellKnownSuffix is the path a discovery URI ends with (OpenID Connect
// Discovery 1.0 §4).
const WellKnownSuffix = "/.well-known/openid-configuration"

// maxDiscoveryBytes bounds a discovery document: real ones are a few KiB.
const maxDiscoveryBytes = 256 << 10

// Discovery is the provider's discovery document (the fields keygate uses).
type Discovery struct {
	// Issuer is the provider's issuer identifier; tokens and introspection
	// answers must name it.
	Issuer string
	// JWKSURI is where the provider publishes its signing keys.
	JWKSURI string
	// AuthorizationEndpoint, TokenEndpoint, IntrospectionEndpoint,
	// EndSessionEndpoint and UserinfoEndpoint are "" when the provider
	// does not advertise them.
	AuthorizationEndpoint, TokenEndpoint, IntrospectionEndpoint,
	EndSessionEndpoint, UserinfoEndpoint string
	// CodeChallengeMethodsSupported lists the PKCE methods ("S256").
	CodeChallengeMethodsSupported []string
	// TokenEndpointAuthMethodsSupported lists how clients authenticate at
	// the token endpoint (client_secret_basic, client_secret_post, ...).
	TokenEndpointAuthMethodsSupported []string
	// IntrospectionEndpointAuthMethodsSupported lists how clients
	// authenticate at the introspection endpoint (RFC 8414 §2); when the
	// provider does not say, the token endpoint's list applies.
	IntrospectionEndpointAuthMethodsSupported []string
}

// wireDiscovery is the document's JSON form.
type wireDiscovery struct {
	Issuer                                    string   `json:"issuer"`
	JWKSURI                                   string   `json:"jwks_uri"`
	AuthorizationEndpoint                     string   `json:"authorization_endpoint"`
	TokenEndpoint                             string   `json:"token_endpoint"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	EndSessionEndpoint                        string   `json:"end_session_endpoint"`
	UserinfoEndpoint                          string   `json:"userinfo_endpoint"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
}

// ErrBadDiscovery is wrapped by every discovery document keygate refuses.
var ErrBadDiscovery = errors.New("bad discovery document")

// ParseDiscovery decodes and checks a discovery document fetched from uri:
// the issuer and jwks_uri are required, every endpoint is an absolute http
// or https URL, and when uri is a well-known URI the issuer is the URL it
// was derived from (OpenID Connect Discovery §4.3: a document that names
// another issuer is a mix-up attempt). A trailing slash is not a
// difference (providers differ on it).
func ParseDiscovery(uri string, body []byte) (*Discovery, error) {
	var w wireDiscovery
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDiscovery, err)
	}
	var problems []error
	if w.Issuer == "" {
		problems = append(problems, errors.New("issuer is missing"))
	} else if err := checkURL(w.Issuer); err != nil {
		problems = append(problems, fmt.Errorf("issuer: %w", err))
	} else if prefix, ok := strings.CutSuffix(uri, WellKnownSuffix); ok && strings.TrimSuffix(prefix, "/") != strings.TrimSuffix(w.Issuer, "/") {
		problems = append(problems, fmt.Errorf("issuer %q is not the issuer the discovery URI belongs to (%q)", w.Issuer, prefix))
	}
	if w.JWKSURI == "" {
		problems = append(problems, errors.New("jwks_uri is missing"))
	}
	for _, e := range []struct{ name, value string }{
		{"jwks_uri", w.JWKSURI}, {"authorization_endpoint", w.AuthorizationEndpoint},
		{"token_endpoint", w.TokenEndpoint}, {"introspection_endpoint", w.IntrospectionEndpoint},
		{"end_session_endpoint", w.EndSessionEndpoint}, {"userinfo_endpoint", w.UserinfoEndpoint},
	} {
		if e.value == "" {
			continue
		}
		if err := checkURL(e.value); err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", e.name, err))
		} else if strings.HasPrefix(uri, "https://") && strings.HasPrefix(e.value, "http://") {
			// A document fetched over TLS may not send keygate (and its
			// client secret) to a plain-http endpoint.
			problems = append(problems, fmt.Errorf("%s: %q is plain http in a document served over https", e.name, e.value))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrBadDiscovery, errors.Join(problems...))
	}
	return &Discovery{
		Issuer: w.Issuer, JWKSURI: w.JWKSURI, AuthorizationEndpoint: w.AuthorizationEndpoint,
		TokenEndpoint: w.TokenEndpoint, IntrospectionEndpoint: w.IntrospectionEndpoint,
		EndSessionEndpoint: w.EndSessionEndpoint, UserinfoEndpoint: w.UserinfoEndpoint,
		CodeChallengeMethodsSupported:             w.CodeChallengeMethodsSupported,
		TokenEndpointAuthMethodsSupported:         w.TokenEndpointAuthMethodsSupported,
		IntrospectionEndpointAuthMethodsSupported: w.IntrospectionEndpointAuthMethodsSupported,
	}, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// IssuerMatches reports whether iss names the issuer d describes (a
// trailing slash is not a difference).
func (d *Discovery) IssuerMatches(iss string) bool {
	return iss != "" && strings.TrimSuffix(iss, "/") == strings.TrimSuffix(d.Issuer, "/")
}
