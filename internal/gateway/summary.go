package gateway

import (
	"time"

	"github.com/keygate/keygate/internal/keys"
)

// DeploymentSummary describes a compiled deployment for `keygate validate`.
type DeploymentSummary struct {
	PathPrefix string
	// MutualTLS is nil for a deployment without a mutualTls block.
	MutualTLS *MutualTLSSummary
	// Auth is nil for a deployment whose routes are all open.
	Auth *AuthSummary
	// Policies are the deployment-wide policies besides authentication,
	// one line each ("rate limit: 100 requests/s, per CLIENT_IP ...").
	Policies []string
	Routes   []RouteSummary
}

// MutualTLSSummary describes a deployment's mutualTls.
type MutualTLSSummary struct {
	// Required is isVerifiedCertificateRequired: false means client
	// certificates are ignored, and so are AllowedSans.
	Required bool
	// ClientCA is the file of the trusted CAs and CAs their subjects, when
	// Required.
	ClientCA string
	CAs      []string
	// AllowedSans are the name patterns; empty allows any name.
	AllowedSans []string
}

// AuthSummary describes a deployment's authentication policy.
type AuthSummary struct {
	Type      string
	TokenFrom string // e.g. "header Authorization (Bearer)" or "query parameter token"
	Issuers   []string
	Audiences []string
	Anonymous bool
	// MaxClockSkew is maxClockSkewInSeconds; VerifyClaims the verifyClaims
	// rules, one line each ("tenant in [a, b], required").
	MaxClockSkew time.Duration
	VerifyClaims []string
	// Keys are the static keys; JWKS is the remote set's URI instead.
	Keys []KeySummary
	JWKS string
	// Discovery is the OpenID provider's discovery URI (REMOTE_DISCOVERY):
	// tokens are introspected there.
	Discovery string
	// Servers lists dynamic authentication's servers, "key name: type".
	Servers []string
}

// KeySummary describes one verification key.
type KeySummary struct {
	KID, Algorithm, Type string
	Bits                 int
	// Thumbprint is the key's RFC 7638 SHA-256 thumbprint.
	Thumbprint string
	// Source says where the key comes from: "STATIC_KEYS JSON_WEB_KEY",
	// "STATIC_KEYS PEM" or "REMOTE_JWKS".
	Source string
}

// RouteSummary describes one route.
type RouteSummary struct {
	Path          string
	Methods       []string
	Backend       string // "HTTP_BACKEND http://..." or "STOCK_RESPONSE_BACKEND 200"
	Authorization string // "ANY_OF [a b]", "AUTHENTICATION_ONLY", "ANONYMOUS", "open"
	// CORS says what the route's cors policy allows; "" for none.
	CORS string
	// Transforms says what the route's transformations do, one line per
	// policy ("request headers: set X-Sub; rename Locale to Region").
	Transforms []string
	// Validations say what the route's headerValidations,
	// queryParameterValidations and bodyValidation check, one line each;
	// nil for none.
	Validations []string
}

// Summary describes the compiled gateway, deployments in the order served
// (longest prefix first).
func (g *Gateway) Summary() []DeploymentSummary {
	out := make([]DeploymentSummary, 0, len(g.deployments))
	for _, d := range g.deployments {
		ds := DeploymentSummary{PathPrefix: d.prefix, MutualTLS: d.mtlsSummary, Policies: d.policies}
		if d.auth != nil {
			s := d.auth.describe()
			ds.Auth = &s
		}
		for _, r := range d.routes {
			ds.Routes = append(ds.Routes, r.summary)
		}
		out = append(out, ds)
	}
	return out
}

// keySummaries describes ks; source names where each key came from.
func keySummaries(ks []*keys.Key, source func(kid string) string) []KeySummary {
	out := make([]KeySummary, len(ks))
	for i, k := range ks {
		tp, _ := keys.Thumbprint(k.Public) // a key that verifies has one
		out[i] = KeySummary{KID: k.ID, Algorithm: k.Algorithm, Type: k.Type(), Bits: k.Bits(), Thumbprint: tp, Source: source(k.ID)}
	}
	return out
}
