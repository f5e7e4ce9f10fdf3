package config

import (
	"math"
	"strings"
	"time"
)

// Verification is what a token must satisfy, read the same way from
// JWT_AUTHENTICATION and TOKEN_AUTHENTICATION.
type Verification struct {
	// Issuers are the accepted iss values; empty means any (TOKEN form only).
	Issuers []string
	// Audiences are the accepted aud values; empty means any (TOKEN form only).
	Audiences []string
	// Claims are the extra claim checks.
	Claims []ClaimRule
	// MaxClockSkew is the tolerance for exp and nbf.
	MaxClockSkew time.Duration
	// Keys is where the verification keys come from; never nil for a
	// validated JWT or TOKEN policy.
	Keys *KeySet
}

// Verification returns the checks a token must pass, whichever form the
// policy was written in.
func (a *Authentication) Verification() Verification {
	v := Verification{MaxClockSkew: time.Duration(a.MaxClockSkewInSeconds * float64(time.Second))}
	switch {
	case a.Type == AuthenticationToken && a.ValidationPolicy != nil:
		v.Keys = &a.ValidationPolicy.KeySet
		if ap := a.ValidationPolicy.AdditionalValidationPolicy; ap != nil {
			v.Issuers, v.Audiences, v.Claims = ap.Issuers, ap.Audiences, ap.VerifyClaims
		}
	default:
		v.Keys = a.PublicKeys
		v.Issuers, v.Audiences, v.Claims = a.Issuers, a.Audiences, a.VerifyClaims
	}
	return v
}

// TokenSource says where a request carries its token.
type TokenSource struct {
	// Header is the header name, or "" when the token is in QueryParam.
	Header string
	// Scheme is the scheme before the token in Header (compare
	// case-insensitively), or "" when the header value is the token.
	Scheme string
	// QueryParam is the query parameter name, or "" when the token is in
	// Header.
	QueryParam string
}

// TokenSource returns where the token is read from.
func (a *Authentication) TokenSource() TokenSource {
	return TokenSource{Header: a.TokenHeader, Scheme: a.TokenAuthScheme, QueryParam: a.TokenQueryParam}
}

// Authorization returns the route's effective authorization: its policy, or
// AUTHENTICATION_ONLY when it has none. In a deployment without
// authentication every route is open whatever this returns (validation
// allows only ANONYMOUS there).
func (r *Route) Authorization() RouteAuthorization {
	if r.RequestPolicies == nil || r.RequestPolicies.Authorization == nil {
		return RouteAuthorization{Type: AuthorizationAuthenticationOnly}
	}
	return *r.RequestPolicies.Authorization
}

// AllowsMethod reports whether the route serves method (ANY serves all).
func (r *Route) AllowsMethod(method string) bool {
	for _, m := range r.Methods {
		if m == "ANY" || strings.EqualFold(m, method) {
			return true
		}
	}
	return len(r.Methods) == 0
}

// EffectiveLogLevel returns the execution log level for a route: the
// route's, else the deployment's, else INFO. Either argument may be nil.
func EffectiveLogLevel(deployment, route *LoggingPolicies) string {
	for _, lp := range []*LoggingPolicies{route, deployment} {
		if lp != nil && lp.ExecutionLog != nil && lp.ExecutionLog.LogLevel != "" {
			return strings.ToUpper(lp.ExecutionLog.LogLevel)
		}
	}
	return LogLevelInfo
}

// ConnectTimeout returns connectTimeoutInSeconds as a duration: 60s when
// absent or 0.
func (b *Backend) ConnectTimeout() time.Duration {
	return seconds(b.ConnectTimeoutInSeconds, defaultConnectTimeout)
}

// ReadTimeout returns readTimeoutInSeconds as a duration: 10s when absent
// or 0.
func (b *Backend) ReadTimeout() time.Duration {
	return seconds(b.ReadTimeoutInSeconds, defaultReadTimeout)
}

// SendTimeout returns sendTimeoutInSeconds as a duration: 10s when absent
// or 0.
func (b *Backend) SendTimeout() time.Duration {
	return seconds(b.SendTimeoutInSeconds, defaultSendTimeout)
}

// CacheDuration returns maxCacheDurationInHours as a duration (default 1h).
func (ks *KeySet) CacheDuration() time.Duration {
	h := defaultCacheHours
	if ks.MaxCacheDurationInHours != nil {
		h = *ks.MaxCacheDurationInHours
	}
	return time.Duration(h) * time.Hour
}

// seconds turns a timeout in seconds into a duration, rounded to the
// nanosecond (2.5 is exactly 2.5s; 0.3 is 300ms, not 299.999999ms). Absent
// or 0 gives def: a zero duration means "no timeout" to net and net/http, so
// it must never come out of here; for the same reason a positive value under
// half a nanosecond becomes 1ns rather than 0.
func seconds(v *float64, def float64) time.Duration {
	s := def
	if v != nil && *v != 0 {
		s = *v
	}
	return max(time.Duration(math.Round(s*float64(time.Second))), 1)
}
