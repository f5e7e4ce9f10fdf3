package ociimport

import (
	"bytes"
	"testing"
)

func TestJSONName(t *testing.T) {
	tests := []struct {
		key, want string
		renamed   bool
	}{
		// The SDK's spellings of acronyms come out of plain camelCasing.
		{"is-ssl-verify-disabled", "isSslVerifyDisabled", true},
		{"is-ssl-enabled", "isSslEnabled", true},
		{"mutual-tls", "mutualTls", true},
		{"token-query-param", "tokenQueryParam", true},
		{"max-cache-duration-in-hours", "maxCacheDurationInHours", true},
		{"rate-in-requests-per-second", "rateInRequestsPerSecond", true},
		{"function-id", "functionId", true},
		{"allowed-sans", "allowedSans", true},
		{"is-verified-certificate-required", "isVerifiedCertificateRequired", true},
		{"connect-timeout-in-seconds", "connectTimeoutInSeconds", true},
		{"ipv4-address-configuration", "ipv4AddressConfiguration", true},
		// The two exceptions: RFC 7517's key_ops, and Python's _from.
		{"key-ops", "key_ops", true},
		{"-from", "from", true},
		// One word, camelCase and JWK members are already JSON names.
		{"uri", "uri", false},
		{"routes", "routes", false},
		{"requestPolicies", "requestPolicies", false},
		{"key_ops", "key_ops", false},
		{"kid", "kid", false},
		// Not the CLI's spelling: left for the loader to name as unknown.
		{"X-Api-Key", "X-Api-Key", false},
		{"is--enabled", "is--enabled", false},
		{"is-enabled-", "is-enabled-", false},
		{"-", "-", false},
		{"rate-2x", "rate-2x", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, renamed := JSONName(tt.key)
			if got != tt.want || renamed != tt.renamed {
				t.Errorf("JSONName(%q) = %q, %v; want %q, %v", tt.key, got, renamed, tt.want, tt.renamed)
			}
		})
	}
}

func TestCamelKeys(t *testing.T) {
	tests := []struct {
		name      string
		in, want  string
		converted int
		nulls     int
	}{
		{
			name:      "keys converted, values untouched",
			in:        `{"token-header":"x-api-key","token-auth-scheme":"Bearer-Token","url":"https://a-b.example.com/x-y/${request.headers[x-tenant-id]}"}`,
			want:      `{"tokenHeader":"x-api-key","tokenAuthScheme":"Bearer-Token","url":"https://a-b.example.com/x-y/${request.headers[x-tenant-id]}"}`,
			converted: 2,
		},
		{
			name:      "claims: key and values are data",
			in:        `{"verify-claims":[{"key":"x-department","values":["r-and-d"],"is-required":true}]}`,
			want:      `{"verifyClaims":[{"key":"x-department","values":["r-and-d"],"isRequired":true}]}`,
			converted: 2,
		},
		{
			name: "JWK members verbatim, key-ops back to key_ops",
			in: `{"public-keys":{"type":"STATIC_KEYS","keys":[` +
				`{"alg":"RS256","e":"AQAB","format":"JSON_WEB_KEY","key-ops":["verify"],"kid":"k-1","kty":"RSA","n":"x-y_z","use":"sig"},` +
				`{"format":"PEM","key":"-----BEGIN PUBLIC KEY-----\nAB-C\n-----END PUBLIC KEY-----","kid":"pem-1"},` +
				`{"crv":"P-256","format":"JSON_WEB_KEY","key_ops":["verify"],"kid":"ec","kty":"EC","x":"a-b","y":"c_d"}]}}`,
			want: `{"publicKeys":{"type":"STATIC_KEYS","keys":[` +
				`{"alg":"RS256","e":"AQAB","format":"JSON_WEB_KEY","key_ops":["verify"],"kid":"k-1","kty":"RSA","n":"x-y_z","use":"sig"},` +
				`{"format":"PEM","key":"-----BEGIN PUBLIC KEY-----\nAB-C\n-----END PUBLIC KEY-----","kid":"pem-1"},` +
				`{"crv":"P-256","format":"JSON_WEB_KEY","key_ops":["verify"],"kid":"ec","kty":"EC","x":"a-b","y":"c_d"}]}}`,
			converted: 2,
		},
		{
			name:      "tags are user data, all the way down",
			in:        `{"freeform-tags":{"team-name":"a-b","cost_center":"1"},"defined-tags":{"Oracle-Tags":{"created-by":"x"}},"system-tags":{"orcl-cloud":{"free-tier-retained":"true"}}}`,
			want:      `{"freeformTags":{"team-name":"a-b","cost_center":"1"},"definedTags":{"Oracle-Tags":{"created-by":"x"}},"systemTags":{"orcl-cloud":{"free-tier-retained":"true"}}}`,
			converted: 3,
		},
		{
			name:      "authorizer parameters: names are the user's",
			in:        `{"type":"CUSTOM_AUTHENTICATION","function-id":"ocid1.fnfunc.oc1..a","parameters":{"x-api-key":"request.headers[x-api-key]","client-id":"request.query[client-id]"}}`,
			want:      `{"type":"CUSTOM_AUTHENTICATION","functionId":"ocid1.fnfunc.oc1..a","parameters":{"x-api-key":"request.headers[x-api-key]","client-id":"request.query[client-id]"}}`,
			converted: 1,
		},
		{
			name:      "body validation content: media types stay, their models convert",
			in:        `{"body-validation":{"required":true,"validation-mode":"ENFORCING","content":{"application/x-www-form-urlencoded":{"validation-type":"NONE"}}}}`,
			want:      `{"bodyValidation":{"required":true,"validationMode":"ENFORCING","content":{"application/x-www-form-urlencoded":{"validationType":"NONE"}}}}`,
			converted: 3,
		},
		{
			name:      "rename headers: the CLI's -from",
			in:        `{"rename-headers":{"items":[{"-from":"X-Old-Name","to":"x-new-name"}]}}`,
			want:      `{"renameHeaders":{"items":[{"from":"X-Old-Name","to":"x-new-name"}]}}`,
			converted: 2,
		},
		{
			name:      "set headers keep names and values",
			in:        `{"set-headers":{"items":[{"if-exists":"OVERWRITE","name":"X-Forwarded-Client","values":["${request.auth[client-id]}"]}]}}`,
			want:      `{"setHeaders":{"items":[{"ifExists":"OVERWRITE","name":"X-Forwarded-Client","values":["${request.auth[client-id]}"]}]}}`,
			converted: 2,
		},
		{
			name:      "nulls in objects are unset fields; nulls in arrays stay for the loader",
			in:        `{"cors":null,"rate-limiting":null,"methods":["GET",null],"backend":{"type":"HTTP_BACKEND","url":"http://a","is-ssl-verify-disabled":false}}`,
			want:      `{"methods":["GET",null],"backend":{"type":"HTTP_BACKEND","url":"http://a","isSslVerifyDisabled":false}}`,
			converted: 1,
			nulls:     2,
		},
		{
			name:      "policies with nothing set are unset too; an empty object written stays",
			in:        `{"response-policies":{"header-transformations":null,"response-cache-store":null},"logging-policies":{"access-log":{"is-enabled":null}},"request-policies":{},"routes":[{"a":null}]}`,
			want:      `{"requestPolicies":{},"routes":[{}]}`,
			converted: 1,
			nulls:     3,
		},
		{
			name: "camelCase comes back unchanged",
			in:   `{"requestPolicies":{"mutualTls":{"isVerifiedCertificateRequired":true,"allowedSans":["a-b.example.com"]},"rateLimiting":{"rateInRequestsPerSecond":10,"rateKey":"CLIENT_IP"}}}`,
			want: `{"requestPolicies":{"mutualTls":{"isVerifiedCertificateRequired":true,"allowedSans":["a-b.example.com"]},"rateLimiting":{"rateInRequestsPerSecond":10,"rateKey":"CLIENT_IP"}}}`,
		},
		{
			name:      "numbers keep their spelling, order is kept",
			in:        `{"z-last":1,"read-timeout-in-seconds":10.0,"connect-timeout-in-seconds":1e1,"a-first":12345678901234567890}`,
			want:      `{"zLast":1,"readTimeoutInSeconds":10.0,"connectTimeoutInSeconds":1e1,"aFirst":12345678901234567890}`,
			converted: 4,
		},
		{
			name: "an unknown spelling is left for the loader",
			in:   `{"Request-Policies":{},"routes":[]}`,
			want: `{"Request-Policies":{},"routes":[]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got, st := CamelKeys(v)
			if js := compact(t, got); js != tt.want {
				t.Errorf("CamelKeys:\n got %s\nwant %s", js, tt.want)
			}
			if st.Converted != tt.converted || st.Unset != tt.nulls {
				t.Errorf("stats = %+v; want Converted %d, Unset %d", st, tt.converted, tt.nulls)
			}
		})
	}
}

// compact is v as one line of JSON, members in order, HTML unescaped.
func compact(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeValue(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
