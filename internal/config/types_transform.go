package config

// HeaderTransformations change a request's or a response's headers
// (OCI's HeaderTransformationPolicy): rename first (from the original
// values), then set, then filter.
type HeaderTransformations struct {
	// SetHeaders adds or changes headers. Default nil.
	SetHeaders *SetItems `json:"setHeaders,omitempty"`
	// RenameHeaders renames headers, keeping their values. Default nil.
	RenameHeaders *RenameItems `json:"renameHeaders,omitempty"`
	// FilterHeaders removes the listed headers (BLOCK) or all others
	// (ALLOW), after the other transformations. Default nil.
	FilterHeaders *FilterItems `json:"filterHeaders,omitempty"`
}

// QueryParameterTransformations change a request's query parameters (OCI's
// QueryParameterTransformationPolicy), as HeaderTransformations do headers.
type QueryParameterTransformations struct {
	// SetQueryParameters adds or changes parameters. Default nil.
	SetQueryParameters *SetItems `json:"setQueryParameters,omitempty"`
	// RenameQueryParameters renames parameters. Default nil.
	RenameQueryParameters *RenameItems `json:"renameQueryParameters,omitempty"`
	// FilterQueryParameters removes parameters. Default nil.
	FilterQueryParameters *FilterItems `json:"filterQueryParameters,omitempty"`
}

// SetItems are the items of a setHeaders or setQueryParameters.
type SetItems struct {
	// Items are the names to set. Required.
	Items []SetItem `json:"items"`
}

// SetItem sets one header or parameter.
type SetItem struct {
	// Name is the header or parameter. Required.
	Name string `json:"name"`
	// Values are one header field (one parameter) each; context variables
	// allowed. Required, 1 to 10.
	Values []string `json:"values"`
	// IfExists is what to do when the name is there already: OVERWRITE,
	// APPEND or SKIP. Default OVERWRITE.
	IfExists string `json:"ifExists,omitempty"`
}

// RenameItems are the items of a renameHeaders or renameQueryParameters.
type RenameItems struct {
	// Items are the renames. Required.
	Items []RenameItem `json:"items"`
}

// RenameItem renames one header or parameter.
type RenameItem struct {
	// From is the name renamed. Required.
	From string `json:"from"`
	// To is the new name. Required.
	To string `json:"to"`
}

// FilterItems are a filterHeaders or filterQueryParameters.
type FilterItems struct {
	// Type is ALLOW (keep only the items) or BLOCK (remove the items).
	// Required.
	Type string `json:"type"`
	// Items are the names. Required.
	Items []FilterItem `json:"items"`
}

// FilterItem is one name of a filter.
type FilterItem struct {
	// Name is the header or parameter. Required.
	Name string `json:"name"`
}

// Transformation enums.
const (
	IfExistsOverwrite = "OVERWRITE"
	IfExistsAppend    = "APPEND"
	IfExistsSkip      = "SKIP"
	FilterAllow       = "ALLOW"
	FilterBlock       = "BLOCK"
)
