package config

import (
	"path/filepath"
	"strings"
	"testing"
)

const discoverySpec = `{"requestPolicies": {"authentication": {"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization",
  "validationPolicy": {"type": "REMOTE_DISCOVERY",
    "clientDetails": {"type": "CUSTOM", "clientId": "gw", "clientSecretId": "ocid1.vaultsecret.oc1..idp", "clientSecretVersionNumber": 1},
    "sourceUriDetails": {"type": "DISCOVERY_URI", "uri": "https://idp.example.com/.well-known/openid-configuration"}}}},
  "routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`

func TestRemoteDiscoveryClientSecretFromTheSecretsList(t *testing.T) {
	tests := []struct {
		name, secrets, want string
	}{
		{"listed", "secrets:\n- id: ocid1.vaultsecret.oc1..idp\n  file: s\n", ""},
		{"not listed", "secrets:\n- id: ocid1.vaultsecret.oc1..other\n  file: s\n",
			`spec.json: requestPolicies.authentication.validationPolicy.clientDetails.clientSecretId: secret "ocid1.vaultsecret.oc1..idp" is not in the gateway file's secrets list`},
		{"no list", "",
			`spec.json: requestPolicies.authentication.validationPolicy.clientDetails.clientSecretId: secret "ocid1.vaultsecret.oc1..idp" is not in the gateway file's secrets list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "s"), "the-secret\n")
			writeFile(t, filepath.Join(dir, "spec.json"), discoverySpec)
			file := writeFile(t, filepath.Join(dir, "keygate.yaml"),
				"deployments:\n- pathPrefix: /v1\n  specificationFile: spec.json\n"+tt.secrets)
			g, err := LoadGateway(file)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("LoadGateway: %v", err)
			case tt.want == "":
				if v, ok := g.Secret("ocid1.vaultsecret.oc1..idp"); !ok || v.Reveal() != "the-secret" {
					t.Errorf("the client secret did not resolve")
				}
			case err == nil || !strings.Contains(err.Error(), tt.want):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDynamicAuthenticationDecodes(t *testing.T) {
	spec, err := DecodeSpec("spec.json", []byte(`{"requestPolicies": {"dynamicAuthentication": {
	  "selectionSource": {"type": "SINGLE", "selector": "${request.headers[X-Tenant]}"},
	  "authenticationServers": [{"key": {"type": "WILDCARD", "name": "w", "expression": "+.example.com", "isDefault": true},
	    "authenticationServerDetail": {"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "isAnonymousAccessAllowed": true,
	      "validationPolicy": {"type": "REMOTE_JWKS", "uri": "https://idp.example.com/jwks"}}}]}},
	  "routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200},
	    "requestPolicies": {"authorization": {"type": "ANONYMOUS"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	da := spec.RequestPolicies.DynamicAuthentication
	v, err := da.SelectionSource.Variable()
	if err != nil || v.Table != VarHeaders || v.Key != "X-Tenant" {
		t.Errorf("selector = %v, %v; want request.headers[X-Tenant]", v, err)
	}
}
