package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// cachedSpec is a spec with one route that caches, and the given lookup
// and store policies (JSON members).
func cachedSpec(lookup, store string) string {
	return `{"requestPolicies": {"authentication": {"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization",
	  "tokenAuthScheme": "Bearer", "issuers": ["https://i"], "audiences": ["a"],
	  "publicKeys": {"type": "REMOTE_JWKS", "uri": "https://i/jwks"}}},
	"routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200},
	  "requestPolicies": {` + lookup + `}, "responsePolicies": {` + store + `}}]}`
}

func TestResponseCacheLoads(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cache-secret"), `{"username": "gw", "password": "pw"}`)
	writeFile(t, filepath.Join(dir, "spec.json"), cachedSpec(
		`"responseCacheLookup": {"type": "simple_lookup_policy", "isPrivateCachingEnabled": true,
		  "cacheKeyAdditions": ["request.headers[Accept-Language]", "${request.auth[sub]}", "request.query[page]", "request.host"]}`,
		`"responseCacheStore": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 300}`))
	file := writeFile(t, filepath.Join(dir, "keygate.yaml"), `deployments:
- pathPrefix: /v1
  specificationFile: spec.json
secrets:
- {id: ocid1.vaultsecret.oc1..c, file: cache-secret}
responseCache:
  type: external_resp_cache
  servers: [{host: cache.example.com, port: 6379}]
  authenticationSecretId: ocid1.vaultsecret.oc1..c
  authenticationSecretVersionNumber: 1
  isSslEnabled: true
  readTimeoutInMs: 250
`)
	g, err := LoadGateway(file)
	if err != nil {
		t.Fatal(err)
	}
	rc := g.ResponseCache
	if rc.Type != ResponseCacheExternal || rc.MaxEntryBytes != DefaultCacheMaxEntryBytes || rc.KeyPrefix != DefaultCacheKeyPrefix {
		t.Errorf("defaults: type %q, maxEntryBytes %d, keyPrefix %q", rc.Type, rc.MaxEntryBytes, rc.KeyPrefix)
	}
	if c, r, s := rc.Timeouts(); c != 1000 || r != 250 || s != 1000 {
		t.Errorf("Timeouts() = %d, %d, %d; want 1000, 250, 1000", c, r, s)
	}
	route := g.Deployments[0].Specification.Routes[0]
	if l := route.RequestPolicies.ResponseCacheLookup; l.Type != CacheLookupSimple || !l.Enabled() || !l.IsPrivateCachingEnabled {
		t.Errorf("lookup = %+v", l)
	}
	v, _ := g.Secret(rc.AuthenticationSecretId)
	if user, pass, err := CacheCredentials(v.Reveal()); err != nil || user != "gw" || pass != "pw" {
		t.Errorf("CacheCredentials = %q, %q, %v", user, pass, err)
	}
}

func TestCacheCredentials(t *testing.T) {
	tests := []struct{ text, user, pass, err string }{
		{"plain-password", "", "plain-password", ""},
		{`{"password": "p"}`, "", "p", ""},
		{`{"username": "u", "password": "p"}`, "u", "p", ""},
		{`{"username": "u"}`, "", "", "no \"password\""},
		{`{"user": "u", "password": "p"}`, "", "", "not {"},
		{`{not json`, "", "", "not {"},
	}
	for _, tt := range tests {
		user, pass, err := CacheCredentials(tt.text)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "p\"") {
				t.Errorf("%s: err %v, want one with %q", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil || user != tt.user || pass != tt.pass {
			t.Errorf("%s: %q %q %v; want %q %q", tt.text, user, pass, err, tt.user, tt.pass)
		}
	}
}

func TestResponseCacheProblems(t *testing.T) {
	okLookup := `"responseCacheLookup": {"type": "SIMPLE_LOOKUP_POLICY"}`
	okStore := `"responseCacheStore": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 60}`
	tests := []struct {
		name, cache, lookup, store string
		want                       []string
	}{
		{"no type", "responseCache: {servers: [{host: h, port: 1}]}", okLookup, okStore,
			[]string{"responseCache.type: missing"}},
		{"bad type", "responseCache: {type: MEMCACHED}", okLookup, okStore,
			[]string{`responseCache.type: "MEMCACHED" is not`}},
		{"none with servers", "responseCache: {type: NONE, servers: [{host: h, port: 1}]}", okLookup, okStore,
			[]string{"responseCache.servers: type NONE uses no server"}},
		{"servers", "responseCache: {type: EXTERNAL_RESP_CACHE, servers: [{host: 'a b', port: 0}, {host: '', port: 70000}]}", okLookup, okStore,
			[]string{"responseCache.servers: 2 servers", `responseCache.servers[0].host: "a b" is not a host name`,
				"responseCache.servers[0].port: 0 is not a port", "responseCache.servers[1].host: missing", "responseCache.servers[1].port: 70000"}},
		{"no server", "responseCache: {type: EXTERNAL_RESP_CACHE}", okLookup, okStore,
			[]string{"responseCache.servers: missing"}},
		{"unlisted secret", "responseCache: {type: EXTERNAL_RESP_CACHE, servers: [{host: 10.0.0.7, port: 6379}], authenticationSecretId: ocid1.x, authenticationSecretVersionNumber: 0}", okLookup, okStore,
			[]string{`responseCache.authenticationSecretId: secret "ocid1.x" is not in the gateway file's secrets list`,
				"responseCache.authenticationSecretVersionNumber: 0"}},
		{"timeouts and sizes", "responseCache: {type: EXTERNAL_RESP_CACHE, servers: [{host: '::1', port: 6379}], connectTimeoutInMs: 0, readTimeoutInMs: 60001, isSslVerifyDisabled: true, maxEntryBytes: 60000000, keyPrefix: 'a b'}", okLookup, okStore,
			[]string{"responseCache.isSslVerifyDisabled: true without isSslEnabled", "responseCache.connectTimeoutInMs: 0 is not from 1",
				"responseCache.readTimeoutInMs: 60001", "responseCache.maxEntryBytes: 60000000", `responseCache.keyPrefix: "a b"`}},
		{"doc spelling", "", okLookup, `"responseCacheStorage": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 60}`,
			[]string{`routes[0].responsePolicies.responseCacheStorage: unknown field; OCI's documentation spells it responseCacheStorage, the API's field is "responseCacheStore"`}},
		{"route policies", "", `"responseCacheLookup": {"type": "LOOKUP", "cacheKeyAdditions": ["request.body", "${request.path[x]}", "request.headers[a b]", "Accept"]}`,
			`"responseCacheStore": {"type": "TTL", "timeToLiveInSeconds": 0}`,
			[]string{`routes[0].requestPolicies.responseCacheLookup.type: "LOOKUP" is not SIMPLE_LOOKUP_POLICY`,
				`routes[0].requestPolicies.responseCacheLookup.cacheKeyAdditions[0]: "request.body" is not one context variable`,
				`cacheKeyAdditions[1]: "${request.path[x]}" is not one context variable`,
				`cacheKeyAdditions[2]: "a b" is not a header name`,
				`cacheKeyAdditions[3]: "Accept" is not one context variable`,
				`routes[0].responsePolicies.responseCacheStore.type: "TTL" is not FIXED_TTL_STORE_POLICY`,
				"routes[0].responsePolicies.responseCacheStore.timeToLiveInSeconds: 0; give the seconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "spec.json"), cachedSpec(tt.lookup, tt.store))
			file := writeFile(t, filepath.Join(dir, "keygate.yaml"),
				"deployments:\n- pathPrefix: /v1\n  specificationFile: spec.json\n"+tt.cache+"\n")
			_, err := LoadGateway(file)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want problems", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("no problem %q in:\n%v", w, err)
				}
			}
		})
	}
}

// TestResponseCacheWarnings: one of the two route policies alone loads
// with a warning (OCI accepts it; it does nothing).
func TestResponseCacheWarnings(t *testing.T) {
	s, err := DecodeSpec("spec.json", []byte(cachedSpec(`"responseCacheLookup": {"type": "SIMPLE_LOOKUP_POLICY"}`, "")))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Error(), "routes[0].requestPolicies.responseCacheLookup: has no effect without responsePolicies.responseCacheStore") {
		t.Errorf("warnings = %v", s.Warnings)
	}
}

// TestResponseCacheWarnsWhenEveryRequestBypasses: a route that requires a
// token caches nothing without private caching.
func TestResponseCacheWarnsWhenEveryRequestBypasses(t *testing.T) {
	s, err := DecodeSpec("spec.json", []byte(cachedSpec(`"responseCacheLookup": {"type": "SIMPLE_LOOKUP_POLICY"}`,
		`"responseCacheStore": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 60}`)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Error(), "routes[0].requestPolicies.responseCacheLookup.isPrivateCachingEnabled: false on a route that requires a token") {
		t.Errorf("warnings = %v", s.Warnings)
	}
}
