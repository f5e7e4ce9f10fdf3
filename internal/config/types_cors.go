package config

// CorsPolicy is a deployment's or a route's `cors` (OCI's CorsPolicy): which
// cross-origin browser requests may read the responses. A route's policy
// replaces the deployment's for that route; nothing is merged.
type CorsPolicy struct {
	// AllowedOrigins are the origins whose requests may read responses:
	// "*" for any, "null" for file: pages, else scheme://host[:port].
	// Required, at least one.
	AllowedOrigins []string `json:"allowedOrigins"`
	// AllowedMethods answer a preflight's Access-Control-Request-Method;
	// "*" allows any. Default [] (the simple methods GET, HEAD, POST).
	AllowedMethods []string `json:"allowedMethods,omitempty"`
	// AllowedHeaders answer a preflight's Access-Control-Request-Headers;
	// "*" allows any. Default [] (none beyond the CORS-safelisted ones).
	AllowedHeaders []string `json:"allowedHeaders,omitempty"`
	// ExposedHeaders are the response headers a page may read beyond the
	// CORS-safelisted ones; "*" for all. Default [].
	ExposedHeaders []string `json:"exposedHeaders,omitempty"`
	// IsAllowCredentialsEnabled lets pages send cookies and Authorization
	// and read the answer. Default false.
	IsAllowCredentialsEnabled bool `json:"isAllowCredentialsEnabled,omitempty"`
	// MaxAgeInSeconds is how long a browser may cache a preflight's answer;
	// sent only when above 0. Default 0.
	MaxAgeInSeconds int `json:"maxAgeInSeconds,omitempty"`
}
