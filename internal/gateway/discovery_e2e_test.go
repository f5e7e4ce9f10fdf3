package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/oidc/oidctest"
	"github.com/keygate/keygate/internal/token"
)

// End-to-end tests of REMOTE_DISCOVERY (§8 of the policies reference)
// against a real OpenID provider (oidctest: zitadel's example OP).

const oidcSecretID = "ocid1.vaultsecret.oc1..oidctest"

// discoveryAuth is a TOKEN_AUTHENTICATION policy on op's discovery
// document, introspecting as clientID.
func discoveryAuth(op *oidctest.OP, clientID string) map[string]any {
	return map[string]any{
		"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
		"validationPolicy": map[string]any{
			"type": "REMOTE_DISCOVERY",
			"clientDetails": map[string]any{"type": "CUSTOM", "clientId": clientID,
				"clientSecretId": oidcSecretID, "clientSecretVersionNumber": 1},
			"sourceUriDetails": map[string]any{"type": "DISCOVERY_URI", "uri": op.DiscoveryURI},
		},
	}
}

// oidcSpec is a spec with auth and three routes to backend: /any
// (authenticated; X-User set from request.auth[sub]), /email (ANY_OF
// email), /open (ANONYMOUS).
func oidcSpec(auth map[string]any, backend string) map[string]any {
	auth["isAnonymousAccessAllowed"] = true
	user := map[string]any{"headerTransformations": map[string]any{"setHeaders": map[string]any{"items": []any{
		map[string]any{"name": "X-User", "values": []any{"${request.auth[sub]}"}}}}}}
	return map[string]any{
		"requestPolicies": map[string]any{"authentication": auth},
		"routes": []any{
			map[string]any{"path": "/any", "backend": map[string]any{"type": "HTTP_BACKEND", "url": backend}, "requestPolicies": user},
			map[string]any{"path": "/email", "backend": map[string]any{"type": "HTTP_BACKEND", "url": backend},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []any{"email"}}}},
			map[string]any{"path": "/open", "backend": map[string]any{"type": "HTTP_BACKEND", "url": backend},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
		},
	}
}

// oidcGateway is a gateway loaded from a gateway file (secrets list and
// all) with the given deployments, its key sets started, served over
// loopback.
type oidcGateway struct {
	g       *Gateway
	ks      *KeySets
	metrics *Metrics
	srv     *httptest.Server
	logs    *syncBuffer
}

// metricsText is the /metrics exposition.
func (o *oidcGateway) metricsText(t testing.TB) string {
	rec := httptest.NewRecorder()
	o.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// startOpaqueGateway is a gateway whose deployment /opaque introspects
// tokens at op as oidctest.ClientID, in front of an echo backend.
func startOpaqueGateway(t testing.TB, op *oidctest.OP) *oidcGateway {
	t.Helper()
	return startOIDCGateway(t, map[string]map[string]any{"/opaque": oidcSpec(discoveryAuth(op, oidctest.ClientID), echoBackend(t))})
}

func startOIDCGateway(t testing.TB, deployments map[string]map[string]any) *oidcGateway {
	t.Helper()
	dir := t.TempDir()
	var yaml strings.Builder
	yaml.WriteString("deployments:\n")
	for prefix, spec := range deployments {
		name := strings.Trim(prefix, "/") + ".json"
		data, _ := json.Marshal(spec)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		yaml.WriteString("- pathPrefix: " + prefix + "\n  specificationFile: " + name + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "client-secret"), []byte(oidctest.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml.WriteString("secrets:\n- id: " + oidcSecretID + "\n  file: client-secret\n")
	file := filepath.Join(dir, "keygate.yaml")
	if err := os.WriteFile(file, []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadGateway(file)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	metrics := NewMetrics()
	ks := NewKeySets(log, metrics.ObserveJWKS)
	ks.ObserveIDP(metrics.ObserveIDP)
	ks.Start(ctx)
	g, err := New(cfg, Options{Logger: log, KeySets: ks, DisableAccessLog: true, TokenCache: token.NewCache(1000), Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	ks.Retain(g)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &oidcGateway{g: g, ks: ks, metrics: metrics, srv: srv, logs: logs}
}

// get sends GET path with the bearer token (none when "") and returns the
// status and body.
func (o *oidcGateway) get(t *testing.T, path, tok string) (int, string) {
	t.Helper()
	return o.getWith(t, path, tok, nil)
}

// send is get with extra request headers, returning the status only.
func (o *oidcGateway) send(t *testing.T, path, tok string, headers map[string]string) int {
	t.Helper()
	status, _ := o.getWith(t, path, tok, headers)
	return status
}

func (o *oidcGateway) getWith(t *testing.T, path, tok string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, o.srv.URL+path, nil)
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// echoBackend answers with the X-User header it got.
func echoBackend(t testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "user="+r.Header.Get("X-User")+" auth="+r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func waitReady(t testing.TB, g *Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !g.WaitReady(ctx) {
		t.Fatalf("gateway not ready: %v", g.NotReady())
	}
}

func TestDiscoveryIntrospectsOpaqueAndJWTTokens(t *testing.T) {
	op := oidctest.Start(t)
	backend := echoBackend(t)
	gw := startOIDCGateway(t, map[string]map[string]any{
		"/opaque": oidcSpec(discoveryAuth(op, oidctest.ClientID), backend),
		"/jwt":    oidcSpec(discoveryAuth(op, oidctest.JWTClientID), backend),
	})
	waitReady(t, gw.g)

	opaque := op.AccessToken("openid")
	opaqueEmail := op.AccessToken("openid", "email")
	revoked := op.AccessToken("openid", "email")
	op.Revoke(oidctest.ClientID, revoked)
	jwt := op.JWTAccessToken("openid", "email")
	// A JWT signed by a key the provider never published.
	other := oidctest.Start(t)
	foreign := other.JWTAccessToken("openid")

	tests := []struct {
		name, path, tok string
		status          int
		body            string
	}{
		{"opaque active", "/opaque/any", opaque, 200, "user=" + oidctest.UserID},
		{"opaque, route wants email", "/opaque/email", opaque, 403, ""},
		{"opaque with email", "/opaque/email", opaqueEmail, 200, ""},
		{"opaque revoked", "/opaque/any", revoked, 401, ""},
		{"unknown opaque token", "/opaque/any", "made-up-token", 401, ""},
		{"no token", "/opaque/any", "", 401, ""},
		{"no token, anonymous route", "/opaque/open", "", 200, "auth="},
		{"revoked on anonymous route: dropped", "/opaque/open", revoked, 200, "user= auth="},
		{"JWT access token", "/jwt/email", jwt, 200, ""},
		{"JWT of another provider", "/jwt/any", foreign, 401, ""},
		{"JWT for another client", "/opaque/any", jwt, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := gw.get(t, tt.path, tt.tok)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("GET %s = %d %q, want %d with %q", tt.path, status, body, tt.status, tt.body)
			}
		})
	}
	if n := other.Requests(oidctest.IntrospectionPath); n != 0 {
		t.Errorf("the other provider was asked %d times", n)
	}
	for _, leak := range []string{opaque, revoked, oidctest.ClientSecret} {
		if strings.Contains(gw.logs.String(), leak) {
			t.Errorf("the log holds a token or the client secret")
		}
	}
}

func TestDiscoveryForgedJWTCostsTheProviderNothing(t *testing.T) {
	op := oidctest.Start(t)
	gw := startOIDCGateway(t, map[string]map[string]any{"/jwt": oidcSpec(discoveryAuth(op, oidctest.JWTClientID), echoBackend(t))})
	waitReady(t, gw.g)
	other := oidctest.Start(t)
	foreign := other.JWTAccessToken("openid")
	before := op.Requests(oidctest.IntrospectionPath)
	for range 5 {
		if status, _ := gw.get(t, "/jwt/any", foreign); status != 401 {
			t.Fatalf("forged JWT: status %d, want 401", status)
		}
	}
	if n := op.Requests(oidctest.IntrospectionPath) - before; n != 0 {
		t.Errorf("forged JWTs made %d introspection calls, want 0", n)
	}
	// Both providers name their first key alike: the signature gives it away.
	if !strings.Contains(gw.logs.String(), `"reason":"bad_signature"`) {
		t.Errorf("log lacks reason bad_signature:\n%s", gw.logs.String())
	}
}

func TestDiscoveryKeyRotationAtTheProvider(t *testing.T) {
	op := oidctest.Start(t)
	gw := startOIDCGateway(t, map[string]map[string]any{"/jwt": oidcSpec(discoveryAuth(op, oidctest.JWTClientID), echoBackend(t))})
	waitReady(t, gw.g)
	before := op.JWTAccessToken("openid")
	if status, body := gw.get(t, "/jwt/any", before); status != 200 {
		t.Fatalf("before rotation: %d %s", status, body)
	}
	keysFetched := op.Requests(oidctest.KeysPath)
	kid := op.RotateKey(false)
	after := op.JWTAccessToken("openid")
	if status, body := gw.get(t, "/jwt/any", after); status != 200 {
		t.Fatalf("token signed with the new key %s: %d %s", kid, status, body)
	}
	if op.Requests(oidctest.KeysPath) == keysFetched {
		t.Error("the new kid was accepted without a JWKS refresh")
	}
}

func TestDiscoveryProviderDownAtStart(t *testing.T) {
	op := oidctest.Start(t)
	op.Stop()
	gw := startOpaqueGateway(t, op)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if status, _ := gw.get(t, "/opaque/any", "some-token"); status != 503 {
		t.Errorf("provider down at start: status %d, want 503", status)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the 503 took %v", d)
	}
	if gw.g.Ready() {
		t.Error("Ready with the provider down")
	}
	why := strings.Join(gw.g.NotReady(), "\n")
	if !strings.Contains(why, op.DiscoveryURI) || !strings.Contains(why, "refused") {
		t.Errorf("NotReady = %q, want the discovery URI and the reason", why)
	}
	op.Restart()
	waitReady(t, gw.g)
	if status, body := gw.get(t, "/opaque/any", op.AccessToken()); status != 200 {
		t.Errorf("after the provider came up: %d %s", status, body)
	}
}

func TestDiscoveryProviderDownLater(t *testing.T) {
	op := oidctest.Start(t)
	gw := startOpaqueGateway(t, op)
	waitReady(t, gw.g)
	seen, unseen := op.AccessToken(), op.AccessToken()
	if status, _ := gw.get(t, "/opaque/any", seen); status != 200 {
		t.Fatalf("warm-up: status %d", status)
	}
	op.Stop()
	for range 3 {
		if status, _ := gw.get(t, "/opaque/any", seen); status != 200 {
			t.Errorf("cached token with the provider down: status %d, want 200", status)
		}
		if status, _ := gw.get(t, "/opaque/any", unseen); status != 503 {
			t.Errorf("new token with the provider down: status %d, want 503", status)
		}
	}
	if n := strings.Count(gw.logs.String(), "introspection failed; tokens without a cached answer"); n != 1 {
		t.Errorf("the outage was logged %d times, want once", n)
	}
	op.Restart()
	if status, _ := gw.get(t, "/opaque/any", unseen); status != 200 {
		t.Errorf("after the provider came back: status %d", status)
	}
	if !strings.Contains(gw.logs.String(), "introspection answers again") {
		t.Error("the recovery was not logged")
	}
}

func TestDiscoverySlowProviderBounded(t *testing.T) {
	op := oidctest.Start(t)
	gw := startOpaqueGateway(t, op)
	waitReady(t, gw.g)
	tok := op.AccessToken()
	op.SetDelay(10 * time.Second)
	start := time.Now()
	status, _ := gw.get(t, "/opaque/any", tok)
	elapsed := time.Since(start)
	op.SetDelay(0)
	if status != 503 {
		t.Errorf("slow provider: status %d, want 503", status)
	}
	if elapsed > 4*time.Second {
		t.Errorf("a slow provider held the request %v, want at most the 3s introspection timeout", elapsed)
	}
}

func TestDiscoveryReloadKeepsProviderAndCache(t *testing.T) {
	op := oidctest.Start(t)
	gw := startOpaqueGateway(t, op)
	waitReady(t, gw.g)
	tok := op.AccessToken()
	if status, _ := gw.get(t, "/opaque/any", tok); status != 200 {
		t.Fatalf("status %d", status)
	}
	calls, fetches := op.Requests(oidctest.IntrospectionPath), op.Requests(oidctest.DiscoveryPath)
	// A reload: the same configuration compiled again with the same key sets.
	g2, err := New(gw.g.cfg, Options{KeySets: gw.ks, DisableAccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	gw.ks.Retain(g2)
	if !g2.Ready() {
		t.Errorf("the reloaded gateway is not ready at once: %v", g2.NotReady())
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/opaque/any", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	g2.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("after reload: status %d", rec.Code)
	}
	if op.Requests(oidctest.IntrospectionPath) != calls || op.Requests(oidctest.DiscoveryPath) != fetches {
		t.Error("the reload asked the provider again; want the cached answer and document")
	}

	// A reload that changes the client: the old client's cached answers
	// are not the new client's (the token was issued to the old one).
	gw.g.cfg.Deployments[0].Specification.RequestPolicies.Authentication.ValidationPolicy.ClientDetails.ClientID = oidctest.JWTClientID
	g3, err := New(gw.g.cfg, Options{KeySets: gw.ks, DisableAccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	gw.ks.Retain(g3)
	rec = httptest.NewRecorder()
	g3.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("after the client changed: status %d, want 401 (the provider does not vouch for it to the new client)", rec.Code)
	}
	if op.Requests(oidctest.IntrospectionPath) != calls+1 {
		t.Error("the new client used the old client's cached answer")
	}
}

func TestDiscoveryMetricsCountIDPAnswers(t *testing.T) {
	op := oidctest.Start(t)
	gw := startOpaqueGateway(t, op)
	waitReady(t, gw.g)
	tok := op.AccessToken()
	for range 3 {
		gw.get(t, "/opaque/any", tok)
	}
	gw.get(t, "/opaque/any", "junk")
	fresh := op.AccessToken()
	op.Stop()
	if status, _ := gw.get(t, "/opaque/any", fresh); status != 503 {
		t.Errorf("provider down: status %d, want 503", status)
	}
	body := gw.metricsText(t)
	for _, want := range []string{
		`keygate_idp_calls_total{call="discovery",result="loaded",uri="` + op.DiscoveryURI + `"} 1`,
		`keygate_idp_calls_total{call="introspection",result="active",uri="` + op.DiscoveryURI + `"} 1`,
		`keygate_idp_calls_total{call="introspection",result="cached",uri="` + op.DiscoveryURI + `"} 2`,
		`keygate_idp_calls_total{call="introspection",result="inactive",uri="` + op.DiscoveryURI + `"} 1`,
		`keygate_idp_calls_total{call="introspection",result="failed",uri="` + op.DiscoveryURI + `"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(body, "keygate_idp"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDiscoveryAdditionalValidationOnTheAnswer: additionalValidationPolicy
// applies to the introspection answer's claims (OPEN in §8).
func TestDiscoveryAdditionalValidationOnTheAnswer(t *testing.T) {
	op := oidctest.Start(t)
	backend := echoBackend(t)
	with := func(avp map[string]any) map[string]any {
		a := discoveryAuth(op, oidctest.ClientID)
		a["validationPolicy"].(map[string]any)["additionalValidationPolicy"] = avp
		return oidcSpec(a, backend)
	}
	rule := func(values ...any) map[string]any {
		return map[string]any{"verifyClaims": []any{map[string]any{"key": "client_id", "values": values, "isRequired": true}}}
	}
	gw := startOIDCGateway(t, map[string]map[string]any{
		"/ours":     with(rule(oidctest.ClientID)),
		"/theirs":   with(rule("another-client")),
		"/audience": with(map[string]any{"audiences": []any{"api.example.com"}}),
		"/issuer":   with(map[string]any{"issuers": []any{"https://other-issuer.example.com"}}),
	})
	waitReady(t, gw.g)
	tok := op.AccessToken("openid")
	tests := []struct {
		path   string
		status int
		reason string
	}{
		{"/ours/any", 200, ""},
		{"/theirs/any", 401, "claim_value_mismatch"},
		// The example OP's answers carry no aud: a deployment that names
		// audiences refuses them.
		{"/audience/any", 401, "wrong_audience"},
		{"/issuer/any", 401, "wrong_issuer"},
	}
	for _, tt := range tests {
		if status, body := gw.get(t, tt.path, tok); status != tt.status {
			t.Errorf("GET %s = %d %s, want %d", tt.path, status, body, tt.status)
		}
		if tt.reason != "" && !strings.Contains(gw.logs.String(), `"reason":"`+tt.reason+`"`) {
			t.Errorf("GET %s: the log lacks reason %s", tt.path, tt.reason)
		}
	}
}
