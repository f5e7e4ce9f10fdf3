package config

import "encoding/json"

// UsagePlansPolicy is a deployment's usagePlans (OCI's UsagePlansPolicy):
// where a request carries the client token that names its subscriber.
type UsagePlansPolicy struct {
	// TokenLocations are context variables without ${}, e.g.
	// "request.headers[client-id]"; the first that holds a value is the
	// token (OCI's docs allow one, its API a list). Required: at least one.
	TokenLocations []string `json:"tokenLocations"`
}

// UsagePlan is an OCI usage plan (UsagePlan) as `oci api-gateway
// usage-plan get` prints it: entitlements that give subscribers access to
// deployments, with their rate limits and quotas.
type UsagePlan struct {
	// ID names the plan in subscribers' usagePlans: its OCID when pasted
	// from OCI, or any name. Required; unique.
	ID string `json:"id"`
	// DisplayName names the plan in logs and metrics. Default "": ID.
	DisplayName string `json:"displayName,omitempty"`
	// Entitlements are the plan's entitlements; an empty list gives no
	// access. Required (may be empty); at most 200.
	Entitlements []Entitlement `json:"entitlements"`
	ociReadOnly
}

// Entitlement is one entitlement of a usage plan (Entitlement): the
// deployments it opens, and the rate limit and quota that all of them and
// all clients of a subscriber share.
type Entitlement struct {
	// Name is unique in its plan. Required.
	Name string `json:"name"`
	// Description is for people. Default "".
	Description string `json:"description,omitempty"`
	// RateLimit caps requests per second. Default nil: no rate limit.
	RateLimit *EntitlementRateLimit `json:"rateLimit,omitempty"`
	// Quota caps requests per calendar period. Default nil: no quota.
	Quota *Quota `json:"quota,omitempty"`
	// Targets are the deployments the entitlement opens. Default nil:
	// none; at most 200.
	Targets []EntitlementTarget `json:"targets,omitempty"`
}

// EntitlementRateLimit is an entitlement's rateLimit (OCI's RateLimit).
type EntitlementRateLimit struct {
	// Value is the number of requests per Unit, at least 1. Required.
	Value int `json:"value"`
	// Unit is SECOND (the only one OCI has). Required; stored upper case.
	Unit string `json:"unit"`
}

// Quota is an entitlement's quota (OCI's Quota).
type Quota struct {
	// Value is the number of requests per period, at least 1. Required.
	Value int `json:"value"`
	// Unit is the period: MINUTE, HOUR, DAY, WEEK (from Monday) or MONTH,
	// each starting at 00 in UTC. Required; stored upper case.
	Unit string `json:"unit"`
	// ResetPolicy is CALENDAR (the only one OCI has). Required.
	ResetPolicy string `json:"resetPolicy"`
	// OperationOnBreach is REJECT (429) or ALLOW (served, logged).
	// Required.
	OperationOnBreach string `json:"operationOnBreach"`
}

// EntitlementTarget is a deployment an entitlement opens.
type EntitlementTarget struct {
	// DeploymentID names a deployment of keygate's config by its id (the
	// OCID it has on OCI), or by its pathPrefix. Required.
	DeploymentID string `json:"deploymentId"`
}

// Subscriber is an OCI subscriber (Subscriber) as `oci api-gateway
// subscriber get` prints it: clients, each with its token, and the usage
// plans they use.
type Subscriber struct {
	// ID identifies the subscriber in logs. Default "": DisplayName.
	ID string `json:"id,omitempty"`
	// DisplayName names the subscriber in logs and metrics; unique (with
	// ID standing in when absent). Default "": ID.
	DisplayName string `json:"displayName,omitempty"`
	// Clients are the subscriber's clients; all share its limits. Required
	// (an empty list gives no access); at most 5.
	Clients []Client `json:"clients"`
	// UsagePlans are plan ids in priority order: for a deployment, the
	// first plan with an entitlement for it applies. Required (an empty
	// list gives no access); at most 10.
	UsagePlans []string `json:"usagePlans"`
	ociReadOnly
}

// Client is one client of a subscriber (OCI's Client): a name and the
// token its requests carry. Exactly one of Token, TokenFile and TokenEnv
// is given; after loading Token holds the token whatever its source.
type Client struct {
	// Name is unique in its subscriber. Required.
	Name string `json:"name"`
	// Token is the client token: at most 128 characters, no spaces or
	// control characters, unique across all subscribers. Default "".
	Token string `json:"token,omitempty"`
	// TokenFile is a file holding the token (a trailing newline is
	// dropped), relative to the config file; keygate's own field. Default "".
	TokenFile string `json:"tokenFile,omitempty"`
	// TokenEnv names the environment variable holding the token; keygate's
	// own field. Default "".
	TokenEnv string `json:"tokenEnv,omitempty"`
}

// ociReadOnly are the members OCI's API adds to a resource it prints:
// accepted so that the `oci` CLI's output pastes in, and ignored, except
// LifecycleState, which must be ACTIVE when given.
type ociReadOnly struct {
	// LifecycleState is ACTIVE when given. Default "".
	LifecycleState   string          `json:"lifecycleState,omitempty"`
	CompartmentID    string          `json:"compartmentId,omitempty"`
	TimeCreated      string          `json:"timeCreated,omitempty"`
	TimeUpdated      string          `json:"timeUpdated,omitempty"`
	LifecycleDetails string          `json:"lifecycleDetails,omitempty"`
	FreeformTags     json.RawMessage `json:"freeformTags,omitempty"`
	DefinedTags      json.RawMessage `json:"definedTags,omitempty"`
	SystemTags       json.RawMessage `json:"systemTags,omitempty"`
	Locks            json.RawMessage `json:"locks,omitempty"`
}

// ociResource marks the types that are OCI resources in the `oci` CLI's
// form (resourceForm).
func (UsagePlan) ociResource()  {}
func (Subscriber) ociResource() {}

// Label is the plan's name in logs and metrics.
func (p *UsagePlan) Label() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.ID
}

// Label is the subscriber's name in logs and metrics.
func (s *Subscriber) Label() string {
	if s.DisplayName != "" {
		return s.DisplayName
	}
	return s.ID
}

// Quota units, reset policies and breach operations; the rate limit unit.
const (
	QuotaMinute    = "MINUTE"
	QuotaHour      = "HOUR"
	QuotaDay       = "DAY"
	QuotaWeek      = "WEEK"
	QuotaMonth     = "MONTH"
	ResetCalendar  = "CALENDAR"
	BreachReject   = "REJECT"
	BreachAllow    = "ALLOW"
	RateUnitSecond = "SECOND"
)
