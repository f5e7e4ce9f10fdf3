package config

// The OAUTH2 validation failure policy (oci-policies.md §5) and the login
// and logout backends that go with it (§9).
const (
	// FailureOAuth2 is the ValidationFailurePolicy type that logs a browser
	// in through the OpenID provider.
	FailureOAuth2 = "OAUTH2"
	// BackendOAuth2Logout ends a browser login (OAUTH2_LOGOUT_BACKEND).
	BackendOAuth2Logout = "OAUTH2_LOGOUT_BACKEND"
	// BackendOAuth2Login receives the provider's redirect at an OAUTH2
	// policy's loginPath (OAUTH2_LOGIN_BACKEND, documented, not in the SDK).
	BackendOAuth2Login = "OAUTH2_LOGIN_BACKEND"
	// ResponseTypeCode is the only responseType: the authorization code
	// flow.
	ResponseTypeCode = "CODE"
)

// maxPostLogoutURIs is OCI's limit on allowedPostLogoutUris.
const maxPostLogoutURIs = 10

// Sessions holds the keys that seal the browser sessions of OAUTH2
// policies (keygate's own setting: OCI keeps them inside its service).
type Sessions struct {
	// Keys name entries of the secrets list, each holding 32 random bytes
	// written as base64 (openssl rand -base64 32) or 64 hex digits. The
	// first key seals new cookies; every key opens them, so a new key put
	// first, with the old one kept second until the longest session has
	// ended, logs nobody out. Required (1 to 5) when a spec has an OAUTH2
	// policy.
	Keys []string `json:"keys"`
}

// SessionKey is one session key as read from the secrets list.
type SessionKey struct {
	// ID is the secrets list entry it came from.
	ID string
	// Key is the 32-byte AES-256 key.
	Key [32]byte
}
