package config

import (
	"encoding/json"
	"errors"
	"strings"
)

// Response cache types (ResponseCacheDetails "type").
const (
	ResponseCacheExternal = "EXTERNAL_RESP_CACHE"
	ResponseCacheNone     = "NONE"
)

// Route cache policy types.
const (
	CacheLookupSimple  = "SIMPLE_LOOKUP_POLICY"
	CacheStoreFixedTTL = "FIXED_TTL_STORE_POLICY"
)

// Response cache limits and defaults (oci-policies.md §10).
const (
	// DefaultCacheTimeoutMs is OCI's default of each of the three timeouts.
	DefaultCacheTimeoutMs = 1000
	// DefaultCacheMaxEntryBytes is keygate's default bound of one stored
	// response (headers and body).
	DefaultCacheMaxEntryBytes = 1 << 20
	// MaxCacheEntryBytes is OCI's limit of a cached response, 50 MB.
	MaxCacheEntryBytes = 50 << 20
	// DefaultCacheKeyPrefix starts every key keygate writes to the cache.
	DefaultCacheKeyPrefix = "keygate:rc:"
	maxCacheTimeoutMs     = 60000
	maxCacheKeyPrefix     = 64
	maxCacheKeyAdditions  = 20
)

// ResponseCache is keygate's form of OCI's gateway-level
// responseCacheDetails (ExternalRespCache): the Redis-compatible (RESP)
// server where routes with responseCacheLookup and responseCacheStore keep
// responses. It is not sharedState.redis: OCI keeps the cache in a server
// of its own, so keygate has a client for each (they may name the same
// server; their keys never meet).
type ResponseCache struct {
	// Type is EXTERNAL_RESP_CACHE or NONE (input case-insensitive, stored
	// upper case). Required. NONE: routes' cache policies have no effect.
	Type string `json:"type"`
	// Servers is the one server, {host, port}. Required with
	// EXTERNAL_RESP_CACHE: exactly one.
	Servers []CacheServer `json:"servers,omitempty"`
	// AuthenticationSecretId names the secret (an entry of the secrets
	// list) holding {"username": "...", "password": "..."} as OCI's Vault
	// secret does (username optional), or the bare password. Default "":
	// no AUTH (OCI requires one; keygate allows a server without).
	AuthenticationSecretId string `json:"authenticationSecretId,omitempty"`
	// AuthenticationSecretVersionNumber is accepted for OCI's sake (at
	// least 1); keygate reads the secret's current value. Default nil.
	AuthenticationSecretVersionNumber *int64 `json:"authenticationSecretVersionNumber,omitempty"`
	// IsSslEnabled connects with TLS. Default false.
	IsSslEnabled bool `json:"isSslEnabled,omitempty"`
	// IsSslVerifyDisabled skips verifying the server's certificate (TLS
	// only). Default false: verified against the system's roots.
	IsSslVerifyDisabled bool `json:"isSslVerifyDisabled,omitempty"`
	// ConnectTimeoutInMs bounds connecting (and waiting for a pooled
	// connection); past it the request bypasses the cache. Default 1000.
	ConnectTimeoutInMs *int `json:"connectTimeoutInMs,omitempty"`
	// ReadTimeoutInMs bounds waiting for the server's answer; past it a
	// lookup goes to the backend. Default 1000.
	ReadTimeoutInMs *int `json:"readTimeoutInMs,omitempty"`
	// SendTimeoutInMs bounds sending a command; past it a response is not
	// stored. Default 1000.
	SendTimeoutInMs *int `json:"sendTimeoutInMs,omitempty"`
	// MaxEntryBytes bounds one stored response (keygate's; OCI's limit,
	// 50 MB, is the most). Larger responses stream through uncached.
	// Default 1 MiB.
	MaxEntryBytes int `json:"maxEntryBytes,omitempty"`
	// KeyPrefix starts every key keygate writes (keygate's), so that
	// gateways sharing one server keep apart. Default "keygate:rc:".
	KeyPrefix string `json:"keyPrefix,omitempty"`
}

// CacheServer is one RESP server (ResponseCacheRespServer).
type CacheServer struct {
	// Host is a host name or an IP address. Required.
	Host string `json:"host"`
	// Port is 1 to 65535. Required.
	Port int `json:"port"`
}

// ResponseCacheLookup is a route's requestPolicies.responseCacheLookup
// (SimpleLookupPolicy).
type ResponseCacheLookup struct {
	// Type is SIMPLE_LOOKUP_POLICY (input case-insensitive). Required.
	Type string `json:"type"`
	// IsEnabled turns the route's caching on. Default true.
	IsEnabled *bool `json:"isEnabled,omitempty"`
	// IsPrivateCachingEnabled caches requests that carry a credential,
	// each under its own credential. Default false: they bypass the cache.
	IsPrivateCachingEnabled bool `json:"isPrivateCachingEnabled,omitempty"`
	// CacheKeyAdditions are context variables (request.query[x],
	// request.headers[X], request.auth[x], request.host; with or without
	// ${}) whose values join the cache key. Default nil.
	CacheKeyAdditions []string `json:"cacheKeyAdditions,omitempty"`
}

// Enabled reports whether the lookup policy is on (isEnabled, default true).
func (l *ResponseCacheLookup) Enabled() bool { return l != nil && (l.IsEnabled == nil || *l.IsEnabled) }

// ResponseCacheStore is a route's responsePolicies.responseCacheStore
// (FixedTtlResponseCacheStorePolicy).
type ResponseCacheStore struct {
	// Type is FIXED_TTL_STORE_POLICY (input case-insensitive). Required.
	Type string `json:"type"`
	// TimeToLiveInSeconds is how long a stored response is served, at
	// least 1. Required.
	TimeToLiveInSeconds int `json:"timeToLiveInSeconds"`
}

// CacheKeyVariable parses one cacheKeyAdditions entry: a context variable
// written bare (request.headers[X], as OCI's docs do) or in ${} (as the
// SDK does).
func CacheKeyVariable(s string) (ContextVariable, bool) {
	if inner, ok := cutBraces(s); ok {
		s = inner
	}
	v, ok := ParseBareVariable(s)
	if !ok {
		return ContextVariable{}, false
	}
	switch v.Table {
	case VarQuery, VarHeaders, VarAuth, VarHost:
		return v, true
	}
	return ContextVariable{}, false
}

func cutBraces(s string) (string, bool) {
	if len(s) > 3 && s[0] == '$' && s[1] == '{' && s[len(s)-1] == '}' {
		return s[2 : len(s)-1], true
	}
	return s, false
}

// Timeouts returns the connect, read and send timeouts in milliseconds,
// with OCI's default for each one not given.
func (rc *ResponseCache) Timeouts() (connect, read, send int) {
	ms := func(v *int) int {
		if v == nil || *v == 0 {
			return DefaultCacheTimeoutMs
		}
		return *v
	}
	return ms(rc.ConnectTimeoutInMs), ms(rc.ReadTimeoutInMs), ms(rc.SendTimeoutInMs)
}

// CacheCredentials reads the response cache's secret text: OCI's form
// {"username": "...", "password": "..."} (username optional), or a bare
// password when the text is not a JSON object.
func CacheCredentials(text string) (username, password string, err error) {
	trimmed := strings.TrimSpace(text)
	if !strings.HasPrefix(trimmed, "{") {
		if text == "" {
			return "", "", errors.New("the secret is empty")
		}
		return "", text, nil
	}
	var v struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return "", "", errors.New(`the secret is a JSON object but not {"username": "...", "password": "..."}`)
	}
	if v.Password == nil || *v.Password == "" {
		return "", "", errors.New(`the secret's JSON object has no "password"`)
	}
	if v.Username != nil {
		username = *v.Username
	}
	return username, *v.Password, nil
}
