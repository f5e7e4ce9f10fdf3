package config

// Client details types (ClientAppDetails "type").
const (
	// ClientDetailsCustom names the client by id and a Vault secret.
	ClientDetailsCustom = "CUSTOM"
	// ClientDetailsValidationBlock reuses the validation policy's client
	// (only inside an OAUTH2 failure policy).
	ClientDetailsValidationBlock = "VALIDATION_BLOCK"
)

// Source URI details types (SourceUriDetails "type").
const (
	// SourceURIDiscovery gives the discovery URI.
	SourceURIDiscovery = "DISCOVERY_URI"
	// SourceURIValidationBlock reuses the validation policy's discovery URI
	// (only inside an OAUTH2 failure policy).
	SourceURIValidationBlock = "VALIDATION_BLOCK"
)

// ClientDetails is an OAuth client of the identity provider
// (ClientAppDetails, CustomClientAppDetails).
type ClientDetails struct {
	// Type is CUSTOM or VALIDATION_BLOCK. Required.
	Type string `json:"type"`
	// ClientID is the client's id at the provider (CUSTOM, required).
	ClientID string `json:"clientId,omitempty"`
	// ClientSecretID is the Vault secret OCID of the client's secret
	// (CUSTOM, required); keygate resolves it through the gateway file's
	// secrets list.
	ClientSecretID string `json:"clientSecretId,omitempty"`
	// ClientSecretVersionNumber is the secret's Vault version (CUSTOM,
	// required by OCI). keygate's secrets list has one value per id, so the
	// number is checked but not used.
	ClientSecretVersionNumber *int64 `json:"clientSecretVersionNumber,omitempty"`
}

// SourceURIDetails locates the identity provider (SourceUriDetails).
type SourceURIDetails struct {
	// Type is DISCOVERY_URI or VALIDATION_BLOCK. Required.
	Type string `json:"type"`
	// URI is the discovery document's URL, e.g.
	// https://idp/.well-known/openid-configuration (DISCOVERY_URI,
	// required).
	URI string `json:"uri,omitempty"`
}
