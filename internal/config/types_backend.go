package config

// Backend types (ApiSpecificationRouteBackend "type").
const (
	BackendHTTP          = "HTTP_BACKEND"
	BackendStockResponse = "STOCK_RESPONSE_BACKEND"
	BackendFunction      = "ORACLE_FUNCTIONS_BACKEND"
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
		"DYNAMIC_ROUTING_BACKEND", "OAUTH2_LOGOUT_BACKEND",
		"OAUTH2_LOGIN_BACKEND", "WEBSOCKET_PROXY_BACKEND",
	}
}
