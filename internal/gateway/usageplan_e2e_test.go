package gateway

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Tokens of the usage plan tests' subscribers.
const (
	tokAcmeWeb   = "acme-web-4c1f"
	tokAcmeBatch = "acme-batch-9e02"
	tokGlobex    = "globex-77aa"
	tokInitech   = "initech-0b3d"
)

// usagePlanConfig is a keygate config with deployments /orders (usage
// plans, token in the client-id header, else the client_id query
// parameter; routes /ok (200), /missing (404), /broken (500)) and /other
// (usage plans, no plan targets it), plan "gold" (entitlement "orders" on
// /orders with rate and quota as given) and plan "elsewhere" (on /other
// only, by the deployment's id); subscribers Acme (two clients, gold),
// Globex (gold) and Initech (elsewhere).
func usagePlanConfig(rate, quota int, unit, breach string) map[string]any {
	route := func(path string, status int) map[string]any {
		return map[string]any{"path": path, "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": status}}
	}
	eligible := map[string]any{"usagePlans": map[string]any{
		"tokenLocations": []any{"request.headers[client-id]", "request.query[client_id]"}}}
	ent := map[string]any{"name": "orders", "targets": []any{map[string]any{"deploymentId": "/orders"}}}
	if rate > 0 {
		ent["rateLimit"] = map[string]any{"value": rate, "unit": "SECOND"}
	}
	if quota > 0 {
		ent["quota"] = map[string]any{"value": quota, "unit": unit, "resetPolicy": "CALENDAR", "operationOnBreach": breach}
	}
	return map[string]any{
		"deployments": []any{
			map[string]any{"pathPrefix": "/orders", "specification": map[string]any{"requestPolicies": eligible,
				"routes": []any{route("/ok", 200), route("/missing", 404), route("/broken", 500)}}},
			map[string]any{"pathPrefix": "/other", "id": "ocid1.apideployment.oc1..other", "specification": map[string]any{
				"requestPolicies": eligible, "routes": []any{route("/ok", 200)}}},
			map[string]any{"pathPrefix": "/free", "specification": map[string]any{
				"requestPolicies": eligible, "routes": []any{route("/ok", 200)}}},
		},
		"usagePlans": []any{
			map[string]any{"id": "gold", "displayName": "Gold", "entitlements": []any{ent}},
			map[string]any{"id": "elsewhere", "entitlements": []any{map[string]any{"name": "other",
				"targets": []any{map[string]any{"deploymentId": "ocid1.apideployment.oc1..other"}}}}},
		},
		"subscribers": []any{
			map[string]any{"id": "ocid1.apisubscriber.oc1..acme", "displayName": "Acme", "usagePlans": []any{"elsewhere", "gold"},
				"clients": []any{map[string]any{"name": "web", "token": tokAcmeWeb}, map[string]any{"name": "batch", "token": tokAcmeBatch}}},
			map[string]any{"displayName": "Globex", "usagePlans": []any{"gold"},
				"clients": []any{map[string]any{"name": "app", "token": tokGlobex}}},
			map[string]any{"displayName": "Initech", "usagePlans": []any{"elsewhere"},
				"clients": []any{map[string]any{"name": "app", "token": tokInitech}}},
		},
	}
}

// usageGateway loads cfg as keygate's config file (so validation and
// defaults run) and compiles it.
func usageGateway(t testing.TB, cfg map[string]any, opts Options) *Gateway {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gateway.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.LoadGateway(path)
	if err != nil {
		t.Fatalf("LoadGateway:\n%v", err)
	}
	g, err := New(c, opts)
	if err != nil {
		t.Fatalf("New:\n%v", err)
	}
	return g
}

// clock is a settable clock for a gateway under test.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// call sends GET path with the client token in the client-id header (none
// if "") and returns the response, its body read.
func call(t testing.TB, srv *httptest.Server, path, tok string) *http.Response {
	t.Helper()
	header := http.Header{}
	if tok != "" {
		header.Set("client-id", tok)
	}
	return getDrained(t, srv, path, header)
}

// TestUsagePlanStatuses: who gets through a deployment that a plan
// targets, and with what status, log line and metric.
func TestUsagePlanStatuses(t *testing.T) {
	logs := &syncBuffer{}
	metrics := NewMetrics()
	clk := newClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	g := usageGateway(t, usagePlanConfig(2, 0, "", ""), Options{Now: clk.now, Metrics: metrics,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, path, tok string
		query           string
		status          int
		reason          string
	}{
		{"no token", "/orders/ok", "", "", 403, "missing_client_token"},
		{"unknown token", "/orders/ok", "not-a-token", "", 403, "unknown_client_token"},
		{"a token's prefix is no token", "/orders/ok", tokGlobex[:len(tokGlobex)-1], "", 403, "unknown_client_token"},
		{"a token in another case is no token", "/orders/ok", strings.ToUpper(tokGlobex), "", 403, "unknown_client_token"},
		{"subscriber without an entitlement here", "/orders/ok", tokInitech, "", 403, "not_entitled"},
		{"entitled", "/orders/ok", tokGlobex, "", 200, ""},
		{"the query location when the header has none", "/orders/ok", "", "?client_id=" + tokGlobex, 200, ""},
		{"over the rate of 2 per second", "/orders/ok", tokGlobex, "", 429, "usage_rate_limited"},
		// The first location holding a value wins: Globex (over its rate), not Acme.
		{"the header wins over the query", "/orders/ok", tokGlobex, "?client_id=" + tokAcmeWeb, 429, "usage_rate_limited"},
		// Acme's first plan has no entitlement on /orders: its second does.
		{"first plan with an entitlement here", "/orders/ok", tokAcmeWeb, "", 200, ""},
		{"the first plan's on its own deployment", "/other/ok", tokAcmeWeb, "", 200, ""},
		{"no plan targets the deployment: no token needed", "/free/ok", "", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, srv, tt.path+tt.query, tt.tok)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 429 && resp.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q, want 1", resp.Header.Get("Retry-After"))
			}
			if tt.reason == "" {
				return
			}
			line := lastLine(t, logs, "reason", tt.reason)
			if line["code"] != "usagePlans.requestRejected" {
				t.Errorf("log code %v, want usagePlans.requestRejected", line["code"])
			}
			if tt.reason == "usage_rate_limited" && (line["subscriberName"] != "Globex" || line["entitlementName"] != "orders" ||
				line["configuredLimit"] != float64(2) || line["configuredUnit"] != "SECOND" || line["limitingResourceId"] != "gold") {
				t.Errorf("429 log line lacks the subscriber and the limit: %v", line)
			}
		})
	}
	if line := lastLine(t, logs, "subscriber", "Globex"); line["msg"] != "request" {
		t.Errorf("the access log line does not name the subscriber: %v", line)
	}
	for _, tok := range []string{tokGlobex, tokAcmeWeb, tokInitech, "not-a-token"} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the log shows client token %q", tok)
		}
	}
	body := scrape(t, metrics)
	for _, want := range []string{
		`keygate_usage_plan_decisions_total{deployment="/orders",entitlement="orders",outcome="permitted",subscriber="Globex",usage_plan="Gold"} 2`,
		`keygate_usage_plan_decisions_total{deployment="/orders",entitlement="orders",outcome="usage_rate_limited",subscriber="Globex",usage_plan="Gold"} 2`,
		`keygate_usage_plan_decisions_total{deployment="/orders",entitlement="",outcome="not_entitled",subscriber="Initech",usage_plan=""} 1`,
		`keygate_usage_plan_decisions_total{deployment="/orders",entitlement="",outcome="unknown_client_token",subscriber="",usage_plan=""} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// lastLine is the last log line whose key has value.
func lastLine(t *testing.T, logs *syncBuffer, key, value string) map[string]any {
	t.Helper()
	lines := logs.lines(t)
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i][key] == value {
			return lines[i]
		}
	}
	t.Fatalf("no log line with %s %q", key, value)
	return nil
}

// scrape returns the metrics' exposition.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// usageStores are the two places counters live: in-process, and a
// redis-server the test starts.
func usageStores(t *testing.T) map[string]func(t *testing.T) *Limits {
	return map[string]func(t *testing.T) *Limits{
		"in-process": func(*testing.T) *Limits { return NewLimits() },
		"redis": func(t *testing.T) *Limits {
			return sharedLimitsFor(t, startRedis(t, "").addr, slog.New(slog.DiscardHandler))
		},
	}
}

// TestUsagePlanQuotaResetsAtPeriodBoundary: a quota of 3 per MINUTE
// refuses the 4th request with Retry-After up to the next minute, and the
// next minute (UTC, on the gateway's clock) starts a new count; the two
// clients of a subscriber share it, another subscriber has its own.
func TestUsagePlanQuotaResetsAtPeriodBoundary(t *testing.T) {
	for name, store := range usageStores(t) {
		t.Run(name, func(t *testing.T) {
			clk := newClock(time.Date(2026, 3, 4, 10, 0, 45, 0, time.UTC))
			g := usageGateway(t, usagePlanConfig(0, 3, "MINUTE", "REJECT"), Options{Now: clk.now, Limits: store(t)})
			srv := httptest.NewServer(g)
			t.Cleanup(srv.Close)
			for i, tok := range []string{tokAcmeWeb, tokAcmeBatch, tokAcmeWeb} {
				if got := call(t, srv, "/orders/ok", tok).StatusCode; got != 200 {
					t.Fatalf("request %d: %d, want 200", i, got)
				}
			}
			resp := call(t, srv, "/orders/ok", tokAcmeBatch)
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "15" {
				t.Fatalf("4th request: %d Retry-After %q, want 429 and 15 (seconds to 10:01:00)", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if got := call(t, srv, "/orders/ok", tokGlobex).StatusCode; got != 200 {
				t.Errorf("another subscriber: %d, want 200 (a quota of its own)", got)
			}
			clk.set(time.Date(2026, 3, 4, 10, 0, 59, 999_000_000, time.UTC))
			if got := call(t, srv, "/orders/ok", tokAcmeWeb).StatusCode; got != 429 {
				t.Errorf("last millisecond of the minute: %d, want 429", got)
			}
			clk.set(time.Date(2026, 3, 4, 10, 1, 0, 0, time.UTC))
			for i := range 3 {
				if got := call(t, srv, "/orders/ok", tokAcmeWeb).StatusCode; got != 200 {
					t.Fatalf("new minute, request %d: %d, want 200", i, got)
				}
			}
			if got := call(t, srv, "/orders/ok", tokAcmeWeb).StatusCode; got != 429 {
				t.Errorf("new minute, 4th request: %d, want 429", got)
			}
		})
	}
}

// TestUsagePlanCounting: OCI counts 4xx toward the quota, 5xx toward the
// rate limit only; a Decide call counts nothing; operationOnBreach ALLOW
// serves past the quota and logs requestBreachedButAllowed.
func TestUsagePlanCounting(t *testing.T) {
	for name, store := range usageStores(t) {
		t.Run(name, func(t *testing.T) {
			clk := newClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
			limits := store(t)
			g := usageGateway(t, usagePlanConfig(0, 2, "HOUR", "REJECT"), Options{Now: clk.now, Limits: limits})
			srv := httptest.NewServer(g)
			t.Cleanup(srv.Close)
			for range 5 {
				req := httptest.NewRequest(http.MethodGet, "/orders/ok", nil)
				req.Header.Set("client-id", tokGlobex)
				if d := g.Decide(req); !d.Accepted || d.Subscriber != "Globex (client app), entitlement orders of usage plan Gold" {
					t.Fatalf("Decide: %+v", d)
				}
			}
			for i := range 3 {
				if got := call(t, srv, "/orders/broken", tokGlobex).StatusCode; got != 500 {
					t.Fatalf("500 route, request %d: %d", i, got)
				}
			}
			if got := call(t, srv, "/orders/missing", tokGlobex).StatusCode; got != 404 {
				t.Fatalf("404 route: %d", got)
			}
			if got := call(t, srv, "/orders/ok", tokGlobex).StatusCode; got != 200 {
				t.Fatalf("2nd counted request: %d, want 200 (Decide and 5xx counted nothing)", got)
			}
			if got := call(t, srv, "/orders/ok", tokGlobex).StatusCode; got != 429 {
				t.Fatalf("3rd counted request: %d, want 429 (the 404 counted)", got)
			}
			req := httptest.NewRequest(http.MethodGet, "/orders/ok", nil)
			req.Header.Set("client-id", tokGlobex)
			if d := g.Decide(req); !d.Accepted {
				t.Errorf("Decide over the quota: %+v; a question is answered as if the quota allowed it", d)
			}
			req.Header.Set("client-id", "nobody")
			if d := g.Decide(req); d.Accepted || d.Status != 403 || d.Reason != "unknown_client_token" {
				t.Errorf("Decide with an unknown token: %+v, want 403 unknown_client_token", d)
			}
		})
	}
	t.Run("ALLOW", func(t *testing.T) {
		logs := &syncBuffer{}
		clk := newClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
		g := usageGateway(t, usagePlanConfig(0, 1, "DAY", "allow"), Options{Now: clk.now, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		for i := range 3 {
			if got := call(t, srv, "/orders/ok", tokGlobex).StatusCode; got != 200 {
				t.Fatalf("request %d: %d, want 200 (ALLOW)", i, got)
			}
		}
		if n := strings.Count(logs.String(), "usagePlans.requestBreachedButAllowed"); n != 2 {
			t.Errorf("%d requestBreachedButAllowed lines, want 2", n)
		}
		line := lastLine(t, logs, "code", "usagePlans.requestBreachedButAllowed")
		if line["subscriberName"] != "Globex" || line["configuredUnit"] != "DAY" || line["configuredLimit"] != float64(1) {
			t.Errorf("breach line: %v", line)
		}
	})
}

// TestUsagePlanIdentityFromVerifiedClaim: with the token in a claim of
// the verified JWT, a header cannot name another subscriber, and a request
// that fails authentication counts toward nobody's quota.
func TestUsagePlanIdentityFromVerifiedClaim(t *testing.T) {
	key := newRSAKey(t, "k1")
	spec := authSpec(jwtAuth(key.staticJWK(t)), httpRoute("/ok", nil, "", nil))
	spec["routes"] = []any{map[string]any{"path": "/ok", "backend": map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200}}}
	spec["requestPolicies"].(map[string]any)["usagePlans"] = map[string]any{"tokenLocations": []any{"request.auth[client_id]"}}
	cfg := usagePlanConfig(0, 1, "HOUR", "REJECT")
	cfg["deployments"] = []any{map[string]any{"pathPrefix": "/orders", "specification": spec}}
	cfg["usagePlans"] = cfg["usagePlans"].([]any)[:1]
	cfg["subscribers"] = cfg["subscribers"].([]any)[1:2] // Globex, on gold
	cfg["subscribers"].([]any)[0].(map[string]any)["usagePlans"] = []any{"gold"}
	g := usageGateway(t, cfg, Options{Now: fixedClock})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	send := func(header, auth string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders/ok", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		if header != "" {
			req.Header.Set("client-id", header)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	withClaim := func(v string) string {
		c := validClaims(fixedNow)
		c["client_id"] = v
		return key.sign(t, c)
	}
	if got := send(tokGlobex, ""); got != 401 {
		t.Fatalf("no JWT, Globex's token in a header: %d, want 401 (authentication first)", got)
	}
	if got := send(tokGlobex, withClaim("nobody")); got != 403 {
		t.Fatalf("a JWT naming no subscriber, Globex's token in a header: %d, want 403", got)
	}
	if got := send("", withClaim(tokGlobex)); got != 200 {
		t.Fatalf("Globex's JWT: %d, want 200 (its quota of 1 unused by the refused requests)", got)
	}
	if got := send("", withClaim(tokGlobex)); got != 429 {
		t.Fatalf("Globex's JWT again: %d, want 429", got)
	}
}

// TestQuotaPeriod: the calendar periods OCI documents, in UTC.
func TestQuotaPeriod(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 17, 33, 5, time.FixedZone("CET", 3600)) // 09:17:33 UTC, a Wednesday
	tests := []struct {
		unit       string
		start, end string
	}{
		{"MINUTE", "2026-03-04T09:17:00Z", "2026-03-04T09:18:00Z"},
		{"HOUR", "2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z"},
		{"DAY", "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z"},
		{"WEEK", "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z"},
		{"MONTH", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
	}
	for _, tt := range tests {
		start, end := quotaPeriod(at, tt.unit)
		if got := start.Format(time.RFC3339) + " " + end.Format(time.RFC3339); got != tt.start+" "+tt.end {
			t.Errorf("%s: %s, want %s %s", tt.unit, got, tt.start, tt.end)
		}
	}
	// A Sunday belongs to the week that began the Monday before.
	if start, _ := quotaPeriod(time.Date(2026, 3, 8, 23, 0, 0, 0, time.UTC), "WEEK"); start.Day() != 2 {
		t.Errorf("Sunday 03-08: week starts %v, want Monday 03-02", start)
	}
}

// TestUsagePlanPhases: only a deployment an entitlement targets has a
// usage plan step, after authorization and before validation; one with
// usagePlans that no plan targets pays nothing.
func TestUsagePlanPhases(t *testing.T) {
	if !(phaseAuthorize < phaseUsagePlan && phaseUsagePlan < phaseValidate) {
		t.Fatal("the usage plan phase is not between authorization and validation (oci-policies.md §13)")
	}
	g := usageGateway(t, usagePlanConfig(1, 0, "", ""), Options{})
	want := map[string][]phase{"/orders": {phaseUsagePlan, phaseSanitize}, "/other": {phaseUsagePlan, phaseSanitize},
		"/free": {phaseSanitize}}
	for _, dep := range g.deployments {
		c := &compiler{g: g}
		var got []phase
		for _, p := range c.routePolicies(dep.routes[0], dep) {
			got = append(got, p.phase)
		}
		if !slices.Equal(got, want[dep.prefix]) {
			t.Errorf("%s: phases %v, want %v", dep.prefix, got, want[dep.prefix])
		}
	}
}

// TestUsagePlanCountsOutliveReload: a configuration rebuilt on the same
// Limits keeps the subscribers' counts.
func TestUsagePlanCountsOutliveReload(t *testing.T) {
	limits := NewLimits()
	clk := newClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	first := httptest.NewServer(usageGateway(t, usagePlanConfig(0, 2, "HOUR", "REJECT"), Options{Now: clk.now, Limits: limits}))
	t.Cleanup(first.Close)
	call(t, first, "/orders/ok", tokGlobex)
	reloaded := httptest.NewServer(usageGateway(t, usagePlanConfig(0, 2, "HOUR", "REJECT"), Options{Now: clk.now, Limits: limits}))
	t.Cleanup(reloaded.Close)
	if got := call(t, reloaded, "/orders/ok", tokGlobex).StatusCode; got != 200 {
		t.Fatalf("2nd request after reload: %d", got)
	}
	if got := call(t, reloaded, "/orders/ok", tokGlobex).StatusCode; got != 429 {
		t.Fatalf("3rd request after reload: %d, want 429: the reload reset the quota", got)
	}
}
