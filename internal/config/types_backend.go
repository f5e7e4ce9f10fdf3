package config

// Backend types (ApiSpecificationRouteBackend "type").
const (
	BackendHTTP          = "HTTP_BACKEND"
	BackendStockResponse = "STOCK_RESPONSE_BACKEND"
	BackendFunction      = "ORACLE_FUNCTIONS_BACKEND"
	BackendDynamic       = "DYNAMIC_ROUTING_BACKEND"
)

// Backend is a route's backend (ApiSpecificationRouteBackend). It is one
// struct holding the fields of every supported type; Type says which apply,
// and a field of another type being set is a validation problem.
type Backend struct {
	// Type is HTTP_BACKEND, STOCK_RESPONSE_BACKEND or
	// ORACLE_FUNCTIONS_BACKEND. Required.
	Type string `json:"type"`

	// FunctionID is the ORACLE_FUNCTIONS_BACKEND function, an OCID or any
	// id of keygate's function registry (Gateway.Functions). Required for
	// ORACLE_FUNCTIONS_BACKEND.
	FunctionID string `json:"functionId,omitempty"`

	// SelectionSource picks the DYNAMIC_ROUTING_BACKEND's backend by a
	// context variable. Required for DYNAMIC_ROUTING_BACKEND.
	SelectionSource *SelectionSource `json:"selectionSource,omitempty"`
	// RoutingBackends are the DYNAMIC_ROUTING_BACKEND's backends, each with
	// the key that selects it; 1 to 100. Required for
	// DYNAMIC_ROUTING_BACKEND.
	RoutingBackends []RoutingBackend `json:"routingBackends,omitempty"`

	// URL is the HTTP_BACKEND target, http or https; context variables may
	// appear in its path. Required for HTTP_BACKEND.
	URL string `json:"url,omitempty"`
	// ConnectTimeoutInSeconds bounds connecting to the backend: 0 to 75
	// seconds, fractions allowed (2.5 is 2.5s). 0 means the default, as a
	// timeout of zero cannot be meant literally. Default 60 (HTTP_BACKEND).
	ConnectTimeoutInSeconds *float64 `json:"connectTimeoutInSeconds,omitempty"`
	// ReadTimeoutInSeconds bounds reading the response: 0 to 300 seconds,
	// fractions allowed; 0 means the default. Default 10 (HTTP_BACKEND).
	ReadTimeoutInSeconds *float64 `json:"readTimeoutInSeconds,omitempty"`
	// SendTimeoutInSeconds bounds sending the request: 0 to 300 seconds,
	// fractions allowed; 0 means the default. Default 10 (HTTP_BACKEND).
	SendTimeoutInSeconds *float64 `json:"sendTimeoutInSeconds,omitempty"`
	// IsSslVerifyDisabled skips TLS certificate verification (HTTP_BACKEND).
	// Default false.
	IsSslVerifyDisabled bool `json:"isSslVerifyDisabled,omitempty"`

	// Status is the STOCK_RESPONSE_BACKEND status code, 100 to 599.
	// Required for STOCK_RESPONSE_BACKEND.
	Status *int `json:"status,omitempty"`
	// Body is the STOCK_RESPONSE_BACKEND body, at most 5120 bytes.
	// Default "".
	Body string `json:"body,omitempty"`
	// Headers are the STOCK_RESPONSE_BACKEND response headers, at most 50.
	// Default nil.
	Headers []HeaderField `json:"headers,omitempty"`

	// AllowedPostLogoutUris are the URLs a client may name as postLogoutUrl,
	// absolute or relative to the deployment, at most 10
	// (OAUTH2_LOGOUT_BACKEND). Default nil: any URL of this gateway's
	// host (keygate never redirects to another host unlisted).
	AllowedPostLogoutUris []string `json:"allowedPostLogoutUris,omitempty"`
	// PostLogoutState is sent to the post-logout URL as its state query
	// parameter; context variables only (OAUTH2_LOGOUT_BACKEND). Default "".
	PostLogoutState string `json:"postLogoutState,omitempty"`
}

// HeaderField is one stock response header (HeaderFieldSpecification).
type HeaderField struct {
	// Name is the header name, an HTTP token. Required.
	Name string `json:"name"`
	// Value is the header value, without CR or LF. Default "".
	Value string `json:"value"`
}

// opaqueVariants lists the backend types keygate knows but does not run;
// their own fields are not reported as unknown, only the type is.
func (Backend) opaqueVariants() (string, []string) {
	return "type", []string{
		"WEBSOCKET_PROXY_BACKEND",
	}
}

// Selection source and key types (SingleSelectionSourcePolicy,
// DynamicSelectionKey "type").
const (
	SelectionSingle   = "SINGLE"
	SelectionAnyOf    = "ANY_OF"
	SelectionWildcard = "WILDCARD"
)

// SelectionSource names the context variable whose value selects
// (SingleSelectionSourcePolicy).
type SelectionSource struct {
	// Type is SINGLE (input case-insensitive, stored upper case). Required.
	Type string `json:"type"`
	// Selector is a context variable without ${}, e.g.
	// request.headers[Accept]; with several values the first is used.
	// Required.
	Selector string `json:"selector"`
}

// RoutingBackend is one backend of a DYNAMIC_ROUTING_BACKEND
// (DynamicRoutingTypeRoutingBackend).
type RoutingBackend struct {
	// Key says which selector values choose Backend. Required.
	Key SelectionKey `json:"key"`
	// Backend is an HTTP_BACKEND, ORACLE_FUNCTIONS_BACKEND or
	// STOCK_RESPONSE_BACKEND. Required.
	Backend Backend `json:"backend"`
}

// SelectionKey matches selector values (AnyOfSelectionKey,
// WildcardSelectionKey).
type SelectionKey struct {
	// Type is ANY_OF or WILDCARD (input case-insensitive, stored upper
	// case). Required.
	Type string `json:"type"`
	// Name names the key; unique in its list. Required.
	Name string `json:"name"`
	// Values are the ANY_OF values, matched exactly but case-insensitively;
	// unique across the list, at most 100. Default nil.
	Values []string `json:"values,omitempty"`
	// Expression is the WILDCARD pattern, matched case-sensitively: one
	// '*' (zero or more characters) or '+' (one or more) at its start or
	// end. Required for WILDCARD.
	Expression string `json:"expression,omitempty"`
	// IsDefault makes the key match what no other key matches; at most one
	// per list. Default false.
	IsDefault bool `json:"isDefault,omitempty"`
}
