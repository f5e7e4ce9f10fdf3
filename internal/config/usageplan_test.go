package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestUsagePlansAsOCIPrintsThem: a plan and a subscriber pasted from `oci
// api-gateway usage-plan get` / `subscriber get` (data wrapper, kebab-case,
// read-only fields) load next to hand-written camelCase ones; enums are
// stored upper case and tokens come from the config, a file or the
// environment.
func TestUsagePlansAsOCIPrintsThem(t *testing.T) {
	t.Setenv("KEYGATE_TEST_PARTNER_TOKEN", "tok-from-env-51c2")
	g, err := LoadGateway("testdata/usageplans/gateway.yaml")
	if err != nil {
		t.Fatalf("LoadGateway:\n%v", err)
	}
	if len(g.UsagePlans) != 2 || len(g.Subscribers) != 2 {
		t.Fatalf("%d plans, %d subscribers; want 2 and 2", len(g.UsagePlans), len(g.Subscribers))
	}
	gold := g.UsagePlans[0]
	if gold.ID != "ocid1.apiusageplan.oc1.phx.amaaaaaagold" || gold.Label() != "Gold" || gold.CompartmentID == "" {
		t.Errorf("gold = %+v", gold)
	}
	orders, reports := gold.Entitlements[0], gold.Entitlements[1]
	if orders.RateLimit == nil || *orders.RateLimit != (EntitlementRateLimit{Value: 10, Unit: "SECOND"}) {
		t.Errorf("orders rateLimit = %+v", orders.RateLimit)
	}
	if want := (Quota{Value: 1000, Unit: "HOUR", ResetPolicy: "CALENDAR", OperationOnBreach: "REJECT"}); orders.Quota == nil || *orders.Quota != want {
		t.Errorf("orders quota = %+v, want %+v", orders.Quota, want)
	}
	if orders.Targets[0].DeploymentID != "ocid1.apideployment.oc1.phx.amaaaaaaorders" {
		t.Errorf("orders targets = %+v", orders.Targets)
	}
	if want := (Quota{Value: 5, Unit: "MONTH", ResetPolicy: "CALENDAR", OperationOnBreach: "ALLOW"}); reports.RateLimit != nil || reports.Quota == nil || *reports.Quota != want {
		t.Errorf("reports = %+v %+v, want no rate limit and quota %+v", reports.RateLimit, reports.Quota, want)
	}
	acme, partner := g.Subscribers[0], g.Subscribers[1]
	if acme.Label() != "Acme" || acme.Clients[0].Token != "tok-web-0d9e" || acme.UsagePlans[0] != gold.ID {
		t.Errorf("acme = %+v", acme)
	}
	if got := partner.Clients[0].Token; got != "tok-from-file-7f3a" {
		t.Errorf("token from file = %q, want the file's line without its newline", got)
	}
	if got, want := partner.Clients[0].TokenFile, filepath.Join("testdata", "usageplans", "partner.token"); got != want {
		t.Errorf("tokenFile = %q, want %q, relative to the config file (the reload watches it)", got, want)
	}
	if got := partner.Clients[1].Token; got != "tok-from-env-51c2" {
		t.Errorf("token from env = %q", got)
	}
	if g.Deployments[0].ID != "ocid1.apideployment.oc1.phx.amaaaaaaorders" {
		t.Errorf("deployment id = %q", g.Deployments[0].ID)
	}
}

// TestUsagePlanProblemsNeverShowTokens: a duplicated or malformed token is
// reported by the clients' paths, never by its value.
func TestUsagePlanProblemsNeverShowTokens(t *testing.T) {
	dir := t.TempDir()
	secret := "s3cret-client-token-value"
	cfg := `deployments:
  - pathPrefix: /a
    specification:
      requestPolicies: {usagePlans: {tokenLocations: ["request.headers[client-id]"]}}
      routes: [{path: /, backend: {type: STOCK_RESPONSE_BACKEND, status: 200}}]
usagePlans: [{id: p, entitlements: [{name: e, targets: [{deploymentId: /a}]}]}]
subscribers:
  - {displayName: one, clients: [{name: c, token: ` + secret + `}], usagePlans: [p]}
  - {displayName: two, clients: [{name: c, token: ` + secret + `}, {name: d, token: "` + secret + ` x"}, {name: e, token: ` + strings.Repeat("x", 129) + `}], usagePlans: [p]}
`
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadGateway(path)
	if err == nil {
		t.Fatal("loaded")
	}
	msg := err.Error()
	for _, want := range []string{"subscribers[1].clients[0].token: the same token as subscribers[0].clients[0]",
		"subscribers[1].clients[1].token: the token holds a space", "subscribers[1].clients[2].token: the token has 129 characters"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, secret) || strings.Contains(msg, "xxxxxxxx") {
		t.Errorf("a problem shows a token:\n%s", msg)
	}
}

// FuzzUsagePlanForms: decoding keygate's config with usage plans and
// subscribers in any form (the oci CLI's, the API's, broken ones) and
// validating them never panics, and fails only with Problems.
func FuzzUsagePlanForms(f *testing.F) {
	for _, file := range []string{"testdata/usageplans/gateway.yaml", "testdata/invalid/gateway_usageplans.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"usagePlans": [{"data": {"data": {}}, "etag": 1}], "subscribers": [{"data": []}, {"clients": [{"token-file": ""}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newChecker("fuzz.yaml", nil)
		var g Gateway
		if !c.decodeInto(data, &g) {
			if len(c.probs) == 0 {
				t.Fatal("decoding failed without a problem")
			}
			return
		}
		c.usagePlansAndSubscribers(&g, t.TempDir())
		for _, s := range g.Subscribers {
			for _, cl := range s.Clients {
				if cl.TokenFile != "" && !strings.HasPrefix(cl.TokenFile, "/") && len(c.probs) == 0 {
					t.Fatalf("tokenFile %q not made absolute against the config's directory", cl.TokenFile)
				}
			}
		}
	})
}

// TestUsagePlansFromFiles: an entry {file: NAME} is the resource NAME
// holds, saved as the oci CLI printed it (JSON) or as YAML; the files are
// listed for the reload to watch.
func TestUsagePlansFromFiles(t *testing.T) {
	g, err := LoadGateway("testdata/usageplans/gateway_files.yaml")
	if err != nil {
		t.Fatalf("LoadGateway:\n%v", err)
	}
	if len(g.UsagePlans) != 1 || g.UsagePlans[0].Label() != "Gold" || g.UsagePlans[0].Entitlements[0].Quota.Unit != "HOUR" {
		t.Errorf("usage plans = %+v", g.UsagePlans)
	}
	if len(g.Subscribers) != 1 || g.Subscribers[0].Clients[0].Token != "tok-web-0d9e" || g.Subscribers[0].UsagePlans[0] != g.UsagePlans[0].ID {
		t.Errorf("subscribers = %+v", g.Subscribers)
	}
	want := []string{filepath.Join("testdata", "usageplans", "acme.yaml"), filepath.Join("testdata", "usageplans", "gold.json")}
	if slices.Sort(g.ResourceFiles); !slices.Equal(g.ResourceFiles, want) {
		t.Errorf("ResourceFiles = %q, want %q", g.ResourceFiles, want)
	}
}

// A location the client writes, listed before a verified claim, lets the
// client pick the subscriber: a warning names it and the fix.
func TestUsagePlanClaimLocationFirst(t *testing.T) {
	spec := func(locations string) string {
		return `{"requestPolicies": {"authentication": {"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization",
		  "tokenAuthScheme": "Bearer", "issuers": ["https://i"], "audiences": ["a"],
		  "publicKeys": {"type": "REMOTE_JWKS", "uri": "https://i/jwks"}},
		  "usagePlans": {"tokenLocations": ` + locations + `}},
		"routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`
	}
	tests := []struct {
		name, locations string
		want            []string // warning fragments, in order
	}{
		{"claim first", `["request.auth[client_id]", "request.headers[client-id]"]`, nil},
		{"no claim", `["request.headers[client-id]", "request.query[client]"]`, nil},
		{"header before the claim", `["request.headers[client-id]", "request.query[client]", "request.auth[client_id]"]`, []string{
			`requestPolicies.usagePlans.tokenLocations[0]: "request.headers[client-id]" comes before the verified claim "request.auth[client_id]"`,
			`requestPolicies.usagePlans.tokenLocations[1]: "request.query[client]" comes before the verified claim`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSpec("spec.json", []byte(spec(tt.locations)))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Warnings) != len(tt.want) {
				t.Fatalf("warnings = %v, want %d", s.Warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(s.Warnings[i].Error(), w) {
					t.Errorf("warning %d = %q, want %q", i, s.Warnings[i], w)
				}
			}
		})
	}
}
