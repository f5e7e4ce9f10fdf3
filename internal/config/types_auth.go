package config

import (
	"encoding/json"
	"strconv"
)

// Authentication types (AuthenticationPolicy "type").
const (
	AuthenticationJWT    = "JWT_AUTHENTICATION"
	AuthenticationToken  = "TOKEN_AUTHENTICATION"
	AuthenticationCustom = "CUSTOM_AUTHENTICATION"
)

// Key set types (PublicKeySet and TokenAuthenticationValidationPolicy "type").
const (
	KeySetStatic     = "STATIC_KEYS"
	KeySetRemoteJWKS = "REMOTE_JWKS"
	// KeySetRemoteDiscovery is TOKEN_AUTHENTICATION's validation by the
	// provider's discovery document and introspection endpoint.
	KeySetRemoteDiscovery = "REMOTE_DISCOVERY"
)

// Static key formats (StaticPublicKey "format").
const (
	KeyFormatJWK = "JSON_WEB_KEY"
	KeyFormatPEM = "PEM"
)

// FailureModifyResponse is the ValidationFailurePolicy type keygate runs.
const FailureModifyResponse = "MODIFY_RESPONSE"

// Authentication is the deployment's authentication policy
// (AuthenticationPolicy). It is one struct holding the fields of
// JWT_AUTHENTICATION, TOKEN_AUTHENTICATION and CUSTOM_AUTHENTICATION; use
// Verification and TokenSource to read a token policy without caring which
// form was written.
type Authentication struct {
	// Type is JWT_AUTHENTICATION, TOKEN_AUTHENTICATION or
	// CUSTOM_AUTHENTICATION. Required.
	Type string `json:"type"`
	// IsAnonymousAccessAllowed lets callers without a token reach ANONYMOUS
	// routes. Default false.
	IsAnonymousAccessAllowed bool `json:"isAnonymousAccessAllowed,omitempty"`
	// TokenHeader is the request header carrying the token, e.g.
	// "Authorization". Exactly one of TokenHeader and TokenQueryParam is
	// set. Default "".
	TokenHeader string `json:"tokenHeader,omitempty"`
	// TokenQueryParam is the query parameter carrying the token. Default "".
	TokenQueryParam string `json:"tokenQueryParam,omitempty"`
	// TokenAuthScheme is the scheme before the token in TokenHeader, e.g.
	// "Bearer", compared case-insensitively. Default "" (the header value
	// is the token).
	TokenAuthScheme string `json:"tokenAuthScheme,omitempty"`
	// MaxClockSkewInSeconds is the tolerance for exp and nbf, 0 to 120.
	// Default 0.
	MaxClockSkewInSeconds float64 `json:"maxClockSkewInSeconds,omitempty"`

	// Issuers are the accepted iss values, 1 to 5 (JWT_AUTHENTICATION).
	// Required for JWT_AUTHENTICATION.
	Issuers []string `json:"issuers,omitempty"`
	// Audiences are the accepted aud values, 1 to 5 (JWT_AUTHENTICATION).
	// Required for JWT_AUTHENTICATION.
	Audiences []string `json:"audiences,omitempty"`
	// PublicKeys verify signatures (JWT_AUTHENTICATION). Required for
	// JWT_AUTHENTICATION.
	PublicKeys *KeySet `json:"publicKeys,omitempty"`
	// VerifyClaims are extra claim checks, at most 10 (JWT_AUTHENTICATION).
	// Default nil.
	VerifyClaims []ClaimRule `json:"verifyClaims,omitempty"`

	// ValidationPolicy holds the keys and claim checks
	// (TOKEN_AUTHENTICATION). Required for TOKEN_AUTHENTICATION.
	ValidationPolicy *ValidationPolicy `json:"validationPolicy,omitempty"`
	// ValidationFailurePolicy replaces the default 401 response
	// (TOKEN_AUTHENTICATION, CUSTOM_AUTHENTICATION). Default nil.
	ValidationFailurePolicy *ValidationFailurePolicy `json:"validationFailurePolicy,omitempty"`

	// FunctionId names the authorizer function (CUSTOM_AUTHENTICATION): an
	// OCID, or any id, that keygate config's functions registry maps to
	// where the function runs. Required for CUSTOM_AUTHENTICATION.
	FunctionId string `json:"functionId,omitempty"`
	// Parameters are the multi-argument authorizer's arguments
	// (CUSTOM_AUTHENTICATION): argument name → one context expression
	// written without ${}, e.g. "request.headers[X-Api-Key]"; at most 10.
	// Exclusive with TokenHeader and TokenQueryParam. Default nil (the
	// single-argument form).
	Parameters map[string]string `json:"parameters,omitempty"`
	// CacheKey narrows the authorizer result cache's key to these
	// Parameters names (CUSTOM_AUTHENTICATION), at most 10. Default nil
	// (every argument but request.body ones).
	CacheKey []string `json:"cacheKey,omitempty"`
}

// KeySet is where verification keys come from (PublicKeySet): STATIC_KEYS
// with Keys, or REMOTE_JWKS with URI.
type KeySet struct {
	// Type is STATIC_KEYS or REMOTE_JWKS. Required.
	Type string `json:"type"`
	// Keys are the static keys, 1 to 10 (STATIC_KEYS). Required for
	// STATIC_KEYS.
	Keys []StaticKey `json:"keys,omitempty"`
	// URI is the JWKS location, http or https (REMOTE_JWKS). Required for
	// REMOTE_JWKS.
	URI string `json:"uri,omitempty"`
	// IsSslVerifyDisabled skips TLS verification when fetching URI
	// (REMOTE_JWKS). Default false.
	IsSslVerifyDisabled bool `json:"isSslVerifyDisabled,omitempty"`
	// MaxCacheDurationInHours is how long a fetched JWKS is kept, 1 to 24
	// (REMOTE_JWKS). Default 1 (REMOTE_JWKS).
	MaxCacheDurationInHours *int `json:"maxCacheDurationInHours,omitempty"`
}

// ValidationPolicy is TOKEN_AUTHENTICATION's validation policy
// (TokenAuthenticationValidationPolicy): a key set, or an OpenID provider
// (REMOTE_DISCOVERY), plus optional claim checks.
type ValidationPolicy struct {
	KeySet
	// ClientDetails is the client keygate introspects tokens as
	// (REMOTE_DISCOVERY, required). Default nil.
	ClientDetails *ClientDetails `json:"clientDetails,omitempty"`
	// SourceURIDetails locates the provider's discovery document
	// (REMOTE_DISCOVERY, required). Default nil.
	SourceURIDetails *SourceURIDetails `json:"sourceUriDetails,omitempty"`
	// AdditionalValidationPolicy holds the issuer, audience and claim
	// checks. Default nil (no such checks).
	AdditionalValidationPolicy *AdditionalValidationPolicy `json:"additionalValidationPolicy,omitempty"`
}

// AdditionalValidationPolicy holds TOKEN_AUTHENTICATION's claim checks
// (AdditionalValidationPolicy).
type AdditionalValidationPolicy struct {
	// Issuers are the accepted iss values, at most 5. Default nil (any).
	Issuers []string `json:"issuers,omitempty"`
	// Audiences are the accepted aud values, at most 5. Default nil (any).
	Audiences []string `json:"audiences,omitempty"`
	// VerifyClaims are extra claim checks, at most 10. Default nil.
	VerifyClaims []ClaimRule `json:"verifyClaims,omitempty"`
}

// StaticKey is one static verification key (StaticPublicKey): a JSON Web
// Key or a PEM public key, by Format. Cryptographic checks belong to the
// keys package.
type StaticKey struct {
	// Format is JSON_WEB_KEY or PEM. Required.
	Format string `json:"format"`
	// Kid is the key id tokens name in their header. Required, unique.
	Kid string `json:"kid"`
	// Kty is the JWK key type: RSA, or keygate's extensions EC and OKP.
	// Required for JSON_WEB_KEY.
	Kty string `json:"kty,omitempty"`
	// Alg is the JWK's algorithm, e.g. RS256. Default "" (the keys package
	// decides).
	Alg string `json:"alg,omitempty"`
	// N is the RSA modulus, base64url. Required for kty RSA.
	N string `json:"n,omitempty"`
	// E is the RSA exponent, base64url. Required for kty RSA.
	E string `json:"e,omitempty"`
	// Use must be "sig" when set. Default "".
	Use string `json:"use,omitempty"`
	// KeyOps must contain "verify" when set. Default nil.
	KeyOps []string `json:"key_ops,omitempty"`
	// Crv is the curve (EC: P-256, P-384, P-521; OKP: Ed25519). Required for
	// kty EC and OKP (keygate extension).
	Crv string `json:"crv,omitempty"`
	// X is the public point's x (EC) or the public key (OKP), base64url.
	// Required for kty EC and OKP (keygate extension).
	X string `json:"x,omitempty"`
	// Y is the public point's y, base64url. Required for kty EC (keygate
	// extension).
	Y string `json:"y,omitempty"`
	// Key is the PEM text, "-----BEGIN PUBLIC KEY-----...". Required for PEM.
	Key string `json:"key,omitempty"`
}

// ClaimRule is one claim check (JsonWebTokenClaim).
type ClaimRule struct {
	// Key is the claim name. Required.
	Key string `json:"key"`
	// Values, when given, are the accepted values compared as strings.
	// Default nil (any value).
	Values []string `json:"values,omitempty"`
	// IsRequired makes the claim mandatory. Default false.
	IsRequired bool `json:"isRequired,omitempty"`
}

// ValidationFailurePolicy changes the response to a rejected token
// (ValidationFailurePolicy): MODIFY_RESPONSE sends another response,
// OAUTH2 logs a browser in (its fields: types_oauth2.go).
type ValidationFailurePolicy struct {
	// Type is MODIFY_RESPONSE. Required.
	Type string `json:"type"`
	// ResponseCode is the status to send instead of 401, 100 to 599 (a
	// browser login sends 302 with a Location header); a context variable
	// (${request.auth[code]}, or request.auth[code] bare, as OCI writes it)
	// takes it from the request. Default "" (401).
	ResponseCode StatusText `json:"responseCode,omitempty"`
	// ResponseMessage is the body to send, as text; context variables
	// allowed. Default "" (the JSON error body).
	ResponseMessage string `json:"responseMessage,omitempty"`
	// ResponseHeaderTransformations change the failure response's headers,
	// starting from the default ones (WWW-Authenticate included). Default
	// nil.
	ResponseHeaderTransformations *HeaderTransformations `json:"responseHeaderTransformations,omitempty"`

	// ClientDetails is the client browsers log in as (OAUTH2). Required for
	// OAUTH2.
	ClientDetails *ClientDetails `json:"clientDetails,omitempty"`
	// SourceURIDetails locates the provider (OAUTH2). Required for OAUTH2.
	SourceURIDetails *SourceURIDetails `json:"sourceUriDetails,omitempty"`
	// Scopes are requested at login; openid among them (OAUTH2). Required
	// for OAUTH2.
	Scopes []string `json:"scopes,omitempty"`
	// ResponseType is CODE (any case; stored upper case) (OAUTH2). Required
	// for OAUTH2.
	ResponseType string `json:"responseType,omitempty"`
	// MaxExpiryDurationInHours bounds a login session, 1 to 24, whatever
	// the tokens say (OAUTH2). Default 1.
	MaxExpiryDurationInHours *int `json:"maxExpiryDurationInHours,omitempty"`
	// UseCookiesForSession keeps the session in a sealed cookie (true) or
	// hands it to the client as X-APIGW-TOKEN (false) (OAUTH2). Default
	// true.
	UseCookiesForSession *bool `json:"useCookiesForSession,omitempty"`
	// UseCookiesForIntermediateSteps keeps a login in progress in a sealed
	// browser cookie (true) or in the gateway's memory (false) (OAUTH2).
	// Default true.
	UseCookiesForIntermediateSteps *bool `json:"useCookiesForIntermediateSteps,omitempty"`
	// UsePkce sends a PKCE S256 code challenge (OAUTH2). Default true.
	UsePkce *bool `json:"usePkce,omitempty"`
	// FallbackRedirectPath is where a request other than GET or HEAD without
	// a session is sent, relative to the deployment (OAUTH2). Default "":
	// such a request gets 401.
	FallbackRedirectPath string `json:"fallbackRedirectPath,omitempty"`
	// LogoutPath is the route path of the deployment's
	// OAUTH2_LOGOUT_BACKEND (OAUTH2). Default "".
	LogoutPath string `json:"logoutPath,omitempty"`
	// LoginPath is the route path of the deployment's OAUTH2_LOGIN_BACKEND,
	// where the provider sends the browser back (OAUTH2). Default "": the
	// provider sends it back to the route that started the login.
	LoginPath string `json:"loginPath,omitempty"`
}

// OAuth2Flag reads one of OAUTH2's optional booleans, all true when omitted.
func OAuth2Flag(b *bool) bool { return b == nil || *b }

// MaxExpiryHours is the OAUTH2 session bound in hours, 1 when omitted.
func (fp *ValidationFailurePolicy) MaxExpiryHours() int {
	if fp.MaxExpiryDurationInHours == nil {
		return defaultCacheHours
	}
	return *fp.MaxExpiryDurationInHours
}

// StatusText is an HTTP status written as a JSON string, as OCI does
// ("403"); a JSON number is accepted too.
type StatusText string

// UnmarshalJSON accepts a JSON string or number.
func (s *StatusText) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var str string
		if err := json.Unmarshal(data, &str); err != nil {
			return err
		}
		*s = StatusText(str)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return err
	}
	*s = StatusText(n.String())
	return nil
}

// Int returns the status as a number, or 0 when it is not one.
func (s StatusText) Int() int {
	n, err := strconv.Atoi(string(s))
	if err != nil {
		return 0
	}
	return n
}
