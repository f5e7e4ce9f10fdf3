package config

// Validation modes (the validationMode of headerValidations,
// queryParameterValidations and bodyValidation).
const (
	// ValidationEnforcing refuses a request that fails the policy: it never
	// reaches the backend.
	ValidationEnforcing = "ENFORCING"
	// ValidationPermissive lets a failing request through; the failure is
	// logged and counted.
	ValidationPermissive = "PERMISSIVE"
	// ValidationDisabled turns the policy off.
	ValidationDisabled = "DISABLED"
)

// ContentValidationNone is the only validationType of a bodyValidation
// content entry (OCI's NoContentValidation): the body's media type is
// checked, its content is not.
const ContentValidationNone = "NONE"

// HeaderValidations is a route's `headerValidations`
// (HeaderValidationRequestPolicy): headers a request must carry.
type HeaderValidations struct {
	// ValidationMode is ENFORCING, PERMISSIVE or DISABLED (input
	// case-insensitive, stored upper case). Default "ENFORCING".
	ValidationMode string `json:"validationMode,omitempty"`
	// Headers are the headers checked; names compare case-insensitively
	// and appear once each. Default [] (nothing checked).
	Headers []ValidationItem `json:"headers,omitempty"`
}

// QueryParameterValidations is a route's `queryParameterValidations`
// (QueryParameterValidationRequestPolicy): query parameters a request must
// carry.
type QueryParameterValidations struct {
	// ValidationMode is ENFORCING, PERMISSIVE or DISABLED (input
	// case-insensitive, stored upper case). Default "ENFORCING".
	ValidationMode string `json:"validationMode,omitempty"`
	// Parameters are the query parameters checked; names compare
	// case-insensitively (as OCI's validation page says) and appear once
	// each. Default [] (nothing checked).
	Parameters []ValidationItem `json:"parameters,omitempty"`
}

// ValidationItem is one header or query parameter of a validation policy
// (HeaderValidationItem, QueryParameterValidationItem).
type ValidationItem struct {
	// Name is the header or parameter name, an RFC 9110 token. Required.
	Name string `json:"name"`
	// Required: a request without it fails the policy; one with it and an
	// empty value passes. Default false (not checked).
	Required bool `json:"required,omitempty"`
}

// BodyValidation is a route's `bodyValidation`
// (BodyValidationRequestPolicy): the media types a request body may have.
type BodyValidation struct {
	// Content maps media ranges ("*/*", "type/*", "type/subtype"; compared
	// case-insensitively, each once) to the validation of a body of that
	// type; a body whose Content-Type matches no key fails. Required, at
	// least one entry.
	Content map[string]ContentValidation `json:"content"`
	// Required: a request without a body fails. Default false (a request
	// without a body passes).
	Required bool `json:"required,omitempty"`
	// ValidationMode is ENFORCING, PERMISSIVE or DISABLED (input
	// case-insensitive, stored upper case). Default "ENFORCING".
	ValidationMode string `json:"validationMode,omitempty"`
}

// ContentValidation is what is checked of a body of one media range
// (ContentValidation, by validationType).
type ContentValidation struct {
	// ValidationType is NONE, the only type OCI has (input
	// case-insensitive, stored upper case). Required.
	ValidationType string `json:"validationType"`
}
