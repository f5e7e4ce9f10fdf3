package config

// Backend types (ApiSpecificationRouteBackend "type").
const (
	BackendHTTP          = "HTTP_BACKEND"
	BackendStockResponse = "STOCK_RESPONSE_BACKEND"
)

// Backend is a route's backend (ApiSpecificationRouteBackend). It is one
// struct holding the fields of every supported type; Type says which apply,
// and a field of another type being set is a validation problem.
type Backend struct {
	// Type is HTTP_BACKEND or STOCK_RESPONSE_BACKEND. Required.
	Type string `json:"type"`

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
		"ORACLE_FUNCTIONS_BACKEND", "DYNAMIC_ROUTING_BACKEND", "WEBSOCKET_PROXY_BACKEND",
	}
}
